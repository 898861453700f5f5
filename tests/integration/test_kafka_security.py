"""The suite's Kafka clients against a broker with access control (SASL_SSL, SCRAM-SHA-512, ACLs).

A throw-away ``lsg_local.secure_kafka.SecureKafka`` on 127.0.0.1:29692 (controller 29693) in a tmp dir: one
SCRAM principal per service, ACLs from the topic registry. The shared broker on 29092 is not touched.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from lsg_events import EVENT_TYPES, CloudEvent, from_kafka
from lsg_events.examples import EXAMPLES
from lsg_events.topics import ALERTS, PARTNER_INPUT, SURVEYS, TOPICS
from lsg_local.secure_kafka import SecureKafka
from lsg_shared.kafka import client_kwargs, ensure_topics, make_broker

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

PORT, CONTROLLER_PORT = 29692, 29693


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    kafka = SecureKafka(tmp_path_factory.mktemp("secure-kafka"), port=PORT, controller_port=CONTROLLER_PORT)
    kafka.start(timeout=120)
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
async def topics(secure: SecureKafka) -> list[str]:
    """The registry's topics, created by the admin principal (no service may create topics)."""
    await ensure_topics(secure.settings_for("admin"), TOPICS)
    return [t.name for t in TOPICS]


def _survey_event() -> CloudEvent:
    data = next(d for d in EXAMPLES.values() if d.topic == SURVEYS)
    return CloudEvent(data=data, source="/lsg/surveys")


async def test_round_trip_over_tls_and_scram(secure: SecureKafka, topics: list[str]) -> None:
    """surveys publishes through the services' FastStream broker; reporting reads it with a bare client."""
    event = _survey_event()
    key, value, headers = event.to_kafka()
    broker = make_broker(secure.settings_for("surveys"), client_id="surveys")
    await broker.start()  # idempotent producer: InitProducerId needs IdempotentWrite on the cluster
    try:
        await broker.publish(value, topic=SURVEYS, key=key, headers=headers)
    finally:
        await broker.stop()

    consumer = AIOKafkaConsumer(
        SURVEYS,
        **client_kwargs(secure.settings_for("reporting")),
        group_id=f"reporting-security-{uuid.uuid4().hex[:8]}",  # inside reporting's group prefix
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found = []
        deadline = time.monotonic() + 30
        while not found and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1_000)
            found = [r for rs in batches.values() for r in rs if dict(r.headers).get("ce_id") == event.id.encode()]
        assert len(found) == 1, "the event did not arrive"
        received = from_kafka(found[0].value, found[0].headers, EVENT_TYPES)
        assert found[0].key == key
        assert (received.id, received.type, received.data) == (event.id, event.type, event.data)
        await consumer.commit()  # committing offsets needs READ on the group
    finally:
        await consumer.stop()


async def test_wrong_password_is_refused(secure: SecureKafka, caplog: pytest.LogCaptureFixture) -> None:
    settings = secure.settings_for("surveys", sasl_password="not-the-password")
    producer = AIOKafkaProducer(**client_kwargs(settings), request_timeout_ms=10_000)
    caplog.set_level(logging.ERROR, logger="aiokafka")
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "SaslAuthenticationFailed" in caplog.text
    assert "invalid credentials" in caplog.text


async def test_writes_outside_a_principals_acl_are_refused(secure: SecureKafka, topics: list[str]) -> None:
    event = _survey_event()
    key, value, headers = event.to_kafka()
    broker = make_broker(secure.settings_for("surveys"), client_id="surveys")
    await broker.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await broker.publish(value, topic=ALERTS, key=key, headers=headers)
        await broker.publish(value, topic=SURVEYS, key=key, headers=headers)  # its own topic still works
    finally:
        await broker.stop()

    partner = AIOKafkaProducer(
        **client_kwargs(secure.settings_for("partner")), enable_idempotence=True, request_timeout_ms=15_000
    )
    await partner.start()
    try:
        sent = await partner.send_and_wait(PARTNER_INPUT, b'{"heartbeat": true}', key=b"device-1")
        assert sent.topic == PARTNER_INPUT
        assert sent.offset >= 0
        with pytest.raises(TopicAuthorizationFailedError):
            await partner.send_and_wait(SURVEYS, value, key=key)
    finally:
        await partner.stop()


async def test_reading_outside_a_principals_acl_is_refused(secure: SecureKafka, topics: list[str]) -> None:
    """reporting may consume only in groups named after it; alerts cannot see SURVEYS at all."""
    wrong_group = AIOKafkaConsumer(
        SURVEYS,
        **client_kwargs(secure.settings_for("reporting")),
        group_id=f"integrators-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await wrong_group.start()  # joining the group is refused
    finally:
        await wrong_group.stop()

    # alerts has no ACL on SURVEYS: the broker does not even tell it the topic exists, so it cannot fetch it
    alerts = AIOKafkaConsumer(**client_kwargs(secure.settings_for("alerts")))
    await alerts.start()
    try:
        visible = await alerts.topics()
    finally:
        await alerts.stop()
    assert SURVEYS in topics
    assert PARTNER_INPUT in visible
    assert SURVEYS not in visible


async def test_connections_without_tls_or_the_ca_are_refused(
    secure: SecureKafka, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_connection(("127.0.0.1", PORT), timeout=2):
        pass  # the port is open: the refusals below happen in the protocol, not at TCP level
    caplog.set_level(logging.ERROR, logger="aiokafka")

    plaintext = AIOKafkaProducer(bootstrap_servers=secure.bootstrap, request_timeout_ms=10_000)
    with pytest.raises(KafkaConnectionError):
        await plaintext.start()
    await plaintext.stop()
    assert f'Unable connect to "{secure.bootstrap}"' in caplog.text
    caplog.clear()

    # SASL_SSL with the right password but the system CAs instead of the local one: the certificate fails
    untrusted = secure.settings_for("surveys", ssl_cafile=None)
    producer = AIOKafkaProducer(**client_kwargs(untrusted), request_timeout_ms=10_000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
