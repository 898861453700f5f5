"""Fixtures of the alerts tests: settings on the real infrastructure, a partner, an installed device."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cryptography.fernet import Fernet

from lsg_alerts.entrypoints.app import create_app
from lsg_alerts.settings import AlertsSettings
from lsg_events import topics
from lsg_local.testing import EventCollector, running_app, unique, wait_ready
from lsg_shared.kafka import ensure_topics
from lsg_shared.settings import KafkaSettings
from lsg_testkit.alerts import settlement_place
from lsg_testkit.kafka import skip_to_end
from lsg_testkit.tokens import api_tokens, bearer, grant

ADMIN = "alerts-test-admin-token"
EDITOR = "alerts-test-editor-token"
VIEWER = "alerts-test-viewer-token"
AUTH_ADMIN = bearer(ADMIN)
AUTH_EDITOR = bearer(EDITOR)
AUTH_VIEWER = bearer(VIEWER)
FERNET_KEY = Fernet.generate_key().decode()

TOKENS = api_tokens(
    grant(ADMIN, "ops-admin", ["admin"]),
    grant(EDITOR, "duty-officer-7", ["editor"]),
    grant(VIEWER, "dashboard", ["viewer"]),
)


class _CollectorFromNow(EventCollector):
    """``lsg_local.testing.EventCollector`` that starts at the topics' current end instead of their beginning."""

    async def start(self) -> _CollectorFromNow:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in self.topics
                # aiokafka's own wait for a topic's metadata (the one its producer uses before a first send)
                for p in sorted(await consumer._client._wait_on_metadata(topic))
            ]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)  # resolved now: a record produced from here on is read
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())
        return self


@contextlib.asynccontextmanager
async def collect_from_now(bootstrap: str, *topic_names: str) -> AsyncIterator[EventCollector]:
    collector = await _CollectorFromNow(bootstrap, tuple(topic_names)).start()
    try:
        yield collector
    finally:
        await collector.stop()


@pytest.fixture(autouse=True)
def _collectors_start_at_the_end(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local topics keep every earlier run's records (a 60 s alert benchmark adds 12 000 alert events), and
    reading them all from the beginning outlasts these tests' waits on a loaded machine. The tests look only
    for records they cause after opening a collector, so their collectors start at the topics' current end."""
    if getattr(request.module, "collect", None) is not None:
        monkeypatch.setattr(request.module, "collect", collect_from_now)


@pytest.fixture
def make_settings(database_url: str, kafka_bootstrap: str) -> Callable[..., AlertsSettings]:
    group = unique("alerts-partner-test")

    def make(**overrides: Any) -> AlertsSettings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "kafka": KafkaSettings(bootstrap=kafka_bootstrap),
            "api_tokens": TOKENS,
            "alerts_secrets_key": FERNET_KEY,
            "partner_group_id": group,
            "supervision_interval_s": 0.2,
            "outbox_poll_interval_s": 0.5,
            **overrides,
        }
        return AlertsSettings(**values)

    return make


@dataclass
class Env:
    client: Any
    settings: AlertsSettings
    partner_id: str
    secret: str
    device_id: str


async def create_partner(client: Any, partner_id: str | None = None) -> tuple[str, str]:
    partner_id = partner_id or unique("partner")
    r = await client.post("/v1/partners", json={"partner_id": partner_id, "kind": "vendor"}, headers=AUTH_ADMIN)
    assert r.status_code == 201, r.text
    return partner_id, r.json()["new_secret"]["secret"]


async def install_device(client: Any, partner_id: str, *, interval: int = 300, device_id: str | None = None) -> str:
    device_id = device_id or unique("siren")
    r = await client.post(
        "/v1/devices",
        json={
            "device_id": device_id,
            "kind": "siren",
            "place": settlement_place(),
            "latitude": 56.35,
            "longitude": 27.8,
            "partner_id": partner_id,
            "heartbeat_interval_s": interval,
        },
        headers=AUTH_EDITOR,
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/devices/{device_id}/install", json={}, headers=AUTH_EDITOR)
    assert r.status_code == 200, r.text
    return device_id


@contextlib.asynccontextmanager
async def started(settings: AlertsSettings) -> AsyncIterator[Any]:
    await ensure_topics(settings.kafka, topics.TOPICS)
    await skip_to_end(settings.kafka.bootstrap, settings.partner_group_id, topics.PARTNER_INPUT)
    async with running_app(create_app(settings)) as client:
        await wait_ready(client)
        yield client


@pytest.fixture
async def env(make_settings: Callable[..., AlertsSettings]) -> AsyncIterator[Env]:
    settings = make_settings()
    async with started(settings) as client:
        partner_id, secret = await create_partner(client)
        device_id = await install_device(client, partner_id)
        yield Env(client, settings, partner_id, secret, device_id)


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


def new_certificate(common_name: str = "partner") -> tuple[bytes, str]:
    """A throw-away RSA key (PEM) and its self-signed certificate (PEM), valid for a month."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    at = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(days=1))
        .not_valid_after(at + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def sign_cap(body: bytes, key_pem: bytes, cert_pem: str) -> bytes:
    """`body` (CAP XML) with an enveloped XML signature (signxml, RSA-SHA256) as the alert's last child."""
    from lxml import etree
    from signxml import XMLSigner, methods

    signed = XMLSigner(method=methods.enveloped).sign(etree.fromstring(body), key=key_pem, cert=cert_pem)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


class Helpers:
    """What test modules use (they cannot import this conftest under --import-mode=importlib)."""

    new_certificate = staticmethod(new_certificate)
    sign_cap = staticmethod(sign_cap)

    AUTH_ADMIN = AUTH_ADMIN
    AUTH_EDITOR = AUTH_EDITOR
    AUTH_VIEWER = AUTH_VIEWER
    create_partner = staticmethod(create_partner)
    install_device = staticmethod(install_device)
    started = staticmethod(started)
    skip_to_end = staticmethod(skip_to_end)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
