"""Issue 26: reaching a person, end to end on real PostgreSQL, Kafka and a real SMTP server (Mailpit).

An unacknowledged Extreme alert e-mails the settlement's elder in the elder's language; when the deadline passes
the municipality's duty officer is e-mailed (in theirs); the officer's signed link acknowledges, escalation stops
and nothing more is sent. Forged, expired and reused links are refused and change nothing. With the SMTP server
stopped a while, the message is retried and arrives once it is back."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from lsg_alerts.application.notifications import ack_key
from lsg_alerts.domain.notify import sign_link
from lsg_events import (
    AlertAcknowledged,
    AlertEscalated,
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
    topics,
)
from lsg_events.partner import signed_headers
from lsg_local.mailpit import Mailpit
from lsg_local.testing import collect, unique
from lsg_testkit.alerts import cap_json, settlement_place

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

LINK = re.compile(r"https?://\S+/v1/ack/([A-Za-z0-9_-]+)")


@pytest.fixture
def mailpit(tmp_path: Path) -> Iterator[Mailpit]:
    server = Mailpit(tmp_path / "mailpit").start()
    try:
        yield server
    finally:
        server.stop()


def notify_settings(make_settings: Any, mailpit: Mailpit, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": mailpit.smtp_port,
        "smtp_username": "alerts",
        "smtp_password": "relay-password",
        "smtp_timeout_s": 3.0,
        "notify_interval_s": 0.2,
        "notify_backoff_s": 0.5,
        "notify_backoff_max_s": 1.0,
        "notify_attempts_per_channel": 60,
        "public_base_url": "https://alerts.example.lv",
        "ack_deadlines_s": {"Extreme": 5.0},
        **extra,
    }
    return make_settings(**values)


async def mail_to(mailpit: Mailpit, address: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """The messages to `address` (oldest first, with their bodies), once there are at least `count`."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = [m for m in await asyncio.to_thread(mailpit.messages) if any(t["Address"] == address for t in m["To"])]
        if len(found) >= count:
            return [await asyncio.to_thread(mailpit.message, m["ID"]) for m in reversed(found)]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} message(s) to {address} did not arrive within {timeout:.0f} s (got {len(found)})")


async def count_to(mailpit: Mailpit, address: str) -> int:
    return sum(1 for m in await asyncio.to_thread(mailpit.messages) if any(t["Address"] == address for t in m["To"]))


async def contact(client: Any, h: Any, name: str, language: str, address: str, drills: bool = False) -> str:
    body = {"name": name, "language": language, "channels": [{"kind": "email", "address": address}], "drills": drills}
    r = await client.post("/v1/contacts", json=body, headers=h.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name
    return str(r.json()["contact_id"])


async def rota(client: Any, h: Any, level: str, area: str, members: list[str]) -> str:
    starts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = {"level": level, "area_code": area, "starts_at": starts, "shift_hours": 24, "members": members}
    r = await client.post("/v1/rotas", json=body, headers=h.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    return str(r.json()["rota_id"])


async def device_in(client: Any, h: Any, partner: str, settlement: str) -> str:
    device_id = unique("siren")
    r = await client.post(
        "/v1/devices",
        json={
            "device_id": device_id,
            "kind": "siren",
            "place": settlement_place(settlement),
            "partner_id": partner,
            "heartbeat_interval_s": 300,
        },
        headers=h.AUTH_EDITOR,
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/devices/{device_id}/install", json={}, headers=h.AUTH_EDITOR)
    assert r.status_code == 200, r.text
    return device_id


async def raise_alert(client: Any, partner: str, secret: str, device: str, **cap: Any) -> str:
    body = cap_json(identifier=unique("notify"), device_id=device, **cap)
    r = await client.post(f"/v1/partners/{partner}/alerts", content=body, headers=signed_headers(secret, body))
    assert r.status_code == 202, r.text
    return str(r.json()["alert_id"])


def token_in(message: dict[str, Any]) -> str:
    found = LINK.search(message["Text"])
    assert found, message["Text"]
    return found.group(1)


def of_alert(collector: Any, event_type: str, alert_id: str) -> list[Any]:
    return [e.data for e in collector.events(event_type) if e.data.alert_id == alert_id]


async def test_the_elder_then_the_duty_officer_is_reached_and_acknowledges_from_the_message(
    make_settings, kafka_bootstrap, h, mailpit
) -> None:
    settings = notify_settings(make_settings, mailpit)
    settlement = unique("S")[-10:]
    elder_mail, officer_mail = f"elder-{settlement}@example.lv", f"officer-{settlement}@example.lv"
    async with h.started(settings) as client, collect(kafka_bootstrap, topics.ALERTS) as ev:
        partner, secret = await h.create_partner(client)
        device = await device_in(client, h, partner, settlement)
        elder = await contact(client, h, "Jānis Bērziņš", "lv", elder_mail)
        officer = await contact(client, h, "Ирина Петрова", "ru", officer_mail)
        await rota(client, h, "settlement_elder", f"S{settlement}", [elder])
        await rota(client, h, "municipality", f"S{settlement}", [officer])

        alert_id = await raise_alert(client, partner, secret, device, severity="Extreme", headline="Ugunsgrēks")

        # The elder's message, in Latvian, with a link; then nothing for the officer until the deadline passes.
        [to_elder] = await mail_to(mailpit, elder_mail)
        assert to_elder["Subject"].startswith("Trauksme (ārkārtēja): Ugunsgrēks")
        assert "Labdien, Jānis Bērziņš!" in to_elder["Text"]
        assert await count_to(mailpit, officer_mail) == 0
        await ev.wait_for(lambda c: of_alert(c, NotificationSent.event_type, alert_id), 20, "notification.sent")
        sent = of_alert(ev, NotificationSent.event_type, alert_id)[0]
        assert sent.contact_id == elder
        assert sent.level.value == "settlement_elder"
        assert sent.channel.value == "email"

        # The deadline passes: escalation to the municipality, whose duty officer gets the message in Russian.
        [to_officer] = await mail_to(mailpit, officer_mail, timeout=30)
        assert to_officer["Subject"].startswith("Тревога (чрезвычайная): Ugunsgrēks")
        assert "Здравствуйте, Ирина Петрова!" in to_officer["Text"]
        assert of_alert(ev, AlertEscalated.event_type, alert_id)[0].level.value == "municipality"

        # Forged links: a flipped character, garbage, a link signed with another key. All 403, nothing changes.
        token = token_in(to_officer)
        forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        other_key = sign_link(b"not-the-key", UUID(int=1), datetime.now(UTC) + timedelta(hours=1))
        for bad in (forged, "not-a-token", other_key):
            r = await client.post(f"/v1/ack/{bad}")
            assert r.status_code == 403, (bad, r.text)
            assert r.headers["content-type"].startswith("text/html")
        # Expired: a correctly signed link past its expiry.
        nid = UUID(of_alert(ev, NotificationSent.event_type, alert_id)[-1].notification_id)
        expired = sign_link(ack_key(settings), nid, datetime.now(UTC) - timedelta(seconds=1))
        r = await client.post(f"/v1/ack/{expired}")
        assert r.status_code == 410
        assert 'data-reason="expired"' in r.text
        assert (await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_VIEWER)).json()["state"] == "raised"

        # The officer follows the link: a confirmation page in Russian (GET changes nothing), then acknowledges.
        page = await client.get(f"/v1/ack/{token}")
        assert page.status_code == 200
        assert 'lang="ru"' in page.text
        assert "Подтверждаю" in page.text
        assert (await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_VIEWER)).json()["state"] == "raised"
        done = await client.post(f"/v1/ack/{token}")
        assert done.status_code == 200, done.text
        assert "Подтверждено" in done.text
        await ev.wait_for(lambda c: of_alert(c, AlertAcknowledged.event_type, alert_id), 20, "alert.acknowledged")
        ack = of_alert(ev, AlertAcknowledged.event_type, alert_id)[0]
        assert ack.contact_id == officer
        assert ack.channel.value == "email"
        assert ack.acknowledged_by == f"contact:{officer}"
        detail = (await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_VIEWER)).json()
        assert detail["state"] == "acknowledged"
        assert detail["next_escalation_at"] is None
        notified = [(n["contact_id"], n["level"], n["state"]) for n in detail["notifications"]]
        assert notified == [(elder, "settlement_elder", "sent"), (officer, "municipality", "sent")]
        assert detail["notifications"][1]["link_used_at"] is not None

        # Reused: refused (410), and the elder's older link finds the alert acknowledged (409); nothing changes.
        r = await client.post(f"/v1/ack/{token}")
        assert r.status_code == 410
        assert 'data-reason="used"' in r.text
        r = await client.get(f"/v1/ack/{token_in(to_elder)}")
        assert r.status_code == 409
        assert 'lang="lv"' in r.text

        # Escalation stops, no further messages (two more deadlines' worth of waiting).
        escalated = len(of_alert(ev, AlertEscalated.event_type, alert_id))
        await asyncio.sleep(11)
        assert len(of_alert(ev, AlertEscalated.event_type, alert_id)) == escalated
        assert await count_to(mailpit, elder_mail) == 1
        assert await count_to(mailpit, officer_mail) == 1
        assert len(of_alert(ev, AlertAcknowledged.event_type, alert_id)) == 1

        # No personal data in any of the events about it.
        for e in ev.events():
            text = e.model_dump_json() if hasattr(e, "model_dump_json") else str(e)
            assert elder_mail not in text
            assert "Bērziņš" not in text
            assert officer_mail not in text


async def test_smtp_down_for_a_while_the_message_is_retried_and_nothing_is_lost(
    make_settings, kafka_bootstrap, h, mailpit
) -> None:
    settings = notify_settings(make_settings, mailpit, ack_deadlines_s={"Extreme": 600.0})
    settlement = unique("S")[-10:]
    elder_mail = f"elder-{settlement}@example.lv"
    async with h.started(settings) as client, collect(kafka_bootstrap, topics.ALERTS) as ev:
        partner, secret = await h.create_partner(client)
        device = await device_in(client, h, partner, settlement)
        elder = await contact(client, h, "Elder Smith", "en", elder_mail)
        await rota(client, h, "settlement_elder", f"S{settlement}", [elder])

        mailpit.stop()
        alert_id = await raise_alert(client, partner, secret, device, severity="Extreme")
        await ev.wait_for(
            lambda c: len(of_alert(c, NotificationFailed.event_type, alert_id)) >= 2, 30, "failed attempts"
        )
        failed = of_alert(ev, NotificationFailed.event_type, alert_id)
        assert all(f.next == "retry" and f.reason == "connection" and f.contact_id == elder for f in failed)
        await asyncio.sleep(3)
        mailpit.start()

        [message] = await mail_to(mailpit, elder_mail, timeout=30)
        assert message["Subject"].startswith("Alert (extreme)")
        await ev.wait_for(lambda c: of_alert(c, NotificationSent.event_type, alert_id), 20, "notification.sent")
        sent = of_alert(ev, NotificationSent.event_type, alert_id)
        assert len(sent) == 1
        assert sent[0].attempt > 2
        await asyncio.sleep(1.5)
        assert await count_to(mailpit, elder_mail) == 1, "sent once, not once per attempt"


async def test_drills_reach_only_those_who_opted_in_and_say_so_first(
    make_settings, kafka_bootstrap, h, mailpit
) -> None:
    settings = notify_settings(make_settings, mailpit, ack_deadlines_s={"Extreme": 600.0})
    settlement = unique("S")[-10:]
    keen, other = f"keen-{settlement}@example.lv", f"other-{settlement}@example.lv"
    async with h.started(settings) as client:
        partner, secret = await h.create_partner(client)
        device = await device_in(client, h, partner, settlement)
        not_in = await contact(client, h, "Not In", "lv", other, drills=False)
        opted = await contact(client, h, "Опт Ин", "ru", keen, drills=True)
        await rota(client, h, "settlement_elder", f"S{settlement}", [not_in, opted])

        await raise_alert(client, partner, secret, device, severity="Extreme", status="Exercise")
        [message] = await mail_to(mailpit, keen)
        assert message["Subject"].startswith("УЧЕНИЯ")
        assert message["Text"].startswith("УЧЕНИЯ")
        await asyncio.sleep(1.5)
        assert await count_to(mailpit, other) == 0


async def test_contacts_are_sealed_at_rest_and_erasable(make_settings, h, mailpit, database_url) -> None:
    import asyncpg

    settings = notify_settings(make_settings, mailpit)
    async with h.started(settings) as client:
        person = await contact(client, h, "Anna Kalniņa", "lv", "anna@example.lv")
        area = unique("S")[-10:]
        rota_id = await rota(client, h, "settlement_elder", f"S{area}", [person])
        conn = await asyncpg.connect(database_url)
        try:
            sealed = await conn.fetchval("SELECT sealed FROM contacts WHERE contact_id = $1", UUID(person))
            assert b"anna@example.lv" not in sealed
            assert "Kalniņa".encode() not in sealed
            r = await client.delete(f"/v1/contacts/{person}", headers=h.AUTH_ADMIN)
            assert r.status_code == 204
            row = await conn.fetchrow("SELECT sealed, erased_at FROM contacts WHERE contact_id = $1", UUID(person))
            assert row["sealed"] is None
            assert row["erased_at"] is not None
        finally:
            await conn.close()
        shown = (await client.get(f"/v1/contacts/{person}", headers=h.AUTH_ADMIN)).json()
        assert shown["name"] is None
        assert shown["channels"] == []
        assert shown["erased_at"]
        assert (await client.get(f"/v1/rotas/{rota_id}", headers=h.AUTH_ADMIN)).json()["members"] == []
        r = await client.post("/v1/contacts", json={"name": "x"}, headers=h.AUTH_EDITOR)
        assert r.status_code == 403


async def test_the_privacy_fan_out_erases_the_contacts_a_request_names(
    make_settings, kafka_bootstrap, h, mailpit, producer, database_url
) -> None:
    from lsg_events import CloudEvent, PersonErasureCompleted
    from lsg_events.privacy import PersonErasureRequested
    from lsg_shared import privacy

    settings = notify_settings(make_settings, mailpit)
    key = settings.subject_key()
    assert key is not None
    address = f"{unique('gone')}@example.lv"
    async with h.started(settings) as client, collect(kafka_bootstrap, topics.PRIVACY) as ev:
        by_mail = await contact(client, h, "Pēteris Ozols", "lv", address)
        by_id = await contact(client, h, "Kept By Id", "en", f"{unique('id')}@example.lv")
        kept = await contact(client, h, "Someone Else", "en", f"{unique('kept')}@example.lv")
        request_id = unique("erase")
        request = PersonErasureRequested(
            request_id=request_id,
            requested_at=datetime.now(UTC),
            subject_tokens=privacy.subject_tokens(key, email=address.upper()),
            local_ids={"alerts": [by_id]},
        )
        k, value, headers = CloudEvent(data=request, source="urn:lsg:test").to_kafka()
        await producer.send_and_wait(
            topics.PRIVACY, value, key=k, headers=[(n, v.encode()) for n, v in headers.items()]
        )
        await ev.wait_for(
            lambda c: any(
                e.data.request_id == request_id and e.data.service == "alerts"
                for e in c.events(PersonErasureCompleted.event_type)
            ),
            60,
            "the alerts service's confirmation",
        )
        done = next(
            e.data
            for e in ev.events(PersonErasureCompleted.event_type)
            if e.data.request_id == request_id and e.data.service == "alerts"
        )
        assert done.erased == {"contacts": 2}
        for cid, gone in ((by_mail, True), (by_id, True), (kept, False)):
            shown = (await client.get(f"/v1/contacts/{cid}", headers=h.AUTH_ADMIN)).json()
            assert (shown["name"] is None) is gone, shown


class _Receiver:
    """A dispatch system's webhook endpoint on a free port: verifies the signature, keeps what it received."""

    def __init__(self, secret: str) -> None:
        import http.server
        import json
        import threading

        from lsg_alerts.domain import signing

        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    signing.verify(
                        secrets=[secret],
                        timestamp_header=self.headers.get("X-LSG-Timestamp"),
                        signature_header=self.headers.get("X-LSG-Signature"),
                        body=body,
                        reference_time=time.time(),
                        tolerance_s=300,
                    )
                except signing.SignatureProblem:
                    self.send_response(401)
                    self.end_headers()
                    return
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/lsg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/nobody"


async def test_a_signed_webhook_reaches_dispatch_and_failover_goes_to_the_next_channel_then_the_next_person(
    make_settings, kafka_bootstrap, h, mailpit
) -> None:
    settings = notify_settings(
        make_settings, mailpit, ack_deadlines_s={"Extreme": 600.0}, notify_attempts_per_channel=2
    )
    secret = "dispatch-shared-secret-0123456789"
    receiver = _Receiver(secret)
    s1, s2, s3 = (unique("S")[-10:] for _ in range(3))
    async with h.started(settings) as client, collect(kafka_bootstrap, topics.ALERTS) as ev:
        try:
            partner, secret_p = await h.create_partner(client)

            async def person(name: str, channels: list[dict[str, str]]) -> str:
                body = {"name": name, "language": "en", "channels": channels}
                r = await client.post("/v1/contacts", json=body, headers=h.AUTH_ADMIN)
                assert r.status_code == 201, r.text
                assert all("secret" not in c for c in r.json()["channels"])
                return str(r.json()["contact_id"])

            dispatch = await person("Dispatch", [{"kind": "webhook", "url": receiver.url, "secret": secret}])
            two_ways = await person(
                "Two Ways",
                [
                    {"kind": "webhook", "url": closed_port_url(), "secret": secret},
                    {"kind": "email", "address": f"two-{s2}@example.lv"},
                ],
            )
            unreachable = await person("Away", [{"kind": "webhook", "url": closed_port_url(), "secret": secret}])
            backup = await person("Backup", [{"kind": "email", "address": f"backup-{s3}@example.lv"}])
            await rota(client, h, "settlement_elder", f"S{s1}", [dispatch])
            await rota(client, h, "settlement_elder", f"S{s2}", [two_ways])
            await rota(client, h, "settlement_elder", f"S{s3}", [unreachable, backup])

            # The webhook: signed JSON with the link; acknowledging through it names the webhook channel.
            a1 = await raise_alert(client, partner, secret_p, await device_in(client, h, partner, s1))
            deadline = time.monotonic() + 20
            while not receiver.received and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            [hook] = receiver.received
            assert hook["alert_id"] == a1
            assert hook["contact_id"] == dispatch
            assert hook["level"] == "settlement_elder"
            assert hook["subject"].startswith("Alert (extreme)")
            assert re.fullmatch(r"[A-Z0-9]{6}", hook["reply_code"])
            # The dispatch system's 2xx is delivery (it is the recipient): notification.delivered, once.
            await ev.wait_for(lambda c: of_alert(c, NotificationDelivered.event_type, a1), 20, "notification.delivered")
            [delivered] = of_alert(ev, NotificationDelivered.event_type, a1)
            assert (delivered.evidence, delivered.channel.value, delivered.contact_id) == (
                "receiver_accepted",
                "webhook",
                dispatch,
            )
            token = hook["ack_url"].rsplit("/", 1)[1]
            assert (await client.post(f"/v1/ack/{token}")).status_code == 200
            await ev.wait_for(lambda c: of_alert(c, AlertAcknowledged.event_type, a1), 20, "alert.acknowledged")
            assert of_alert(ev, AlertAcknowledged.event_type, a1)[0].channel.value == "webhook"
            assert len(of_alert(ev, NotificationDelivered.event_type, a1)) == 1  # the acknowledgement adds none

            # Next channel: the webhook refuses twice, then the person's e-mail.
            a2 = await raise_alert(client, partner, secret_p, await device_in(client, h, partner, s2))
            await mail_to(mailpit, f"two-{s2}@example.lv")
            await ev.wait_for(lambda c: len(of_alert(c, NotificationFailed.event_type, a2)) >= 2, 20, "2 failures")
            steps = [f.next for f in of_alert(ev, NotificationFailed.event_type, a2)]
            assert steps == ["retry", "next_channel"]

            # Next person: the first on call cannot be reached at all, the next one on the rota is.
            a3 = await raise_alert(client, partner, secret_p, await device_in(client, h, partner, s3))
            await mail_to(mailpit, f"backup-{s3}@example.lv")
            await ev.wait_for(lambda c: len(of_alert(c, NotificationFailed.event_type, a3)) >= 2, 20, "2 failures")
            failed = of_alert(ev, NotificationFailed.event_type, a3)
            assert [f.next for f in failed] == ["retry", "next_contact"]
            assert {f.contact_id for f in failed} == {unreachable}
            await ev.wait_for(lambda c: of_alert(c, NotificationSent.event_type, a3), 20, "notification.sent")
            assert of_alert(ev, NotificationSent.event_type, a3)[0].contact_id == backup
        finally:
            receiver.close()
