"""Issue 26: acknowledging with the message's reply code through a gateway (POST /v1/replies, HMAC-signed), and
notification.delivered, on real PostgreSQL, Kafka and Mailpit.

The code in the elder's e-mail, sent back from the elder's address, acknowledges (alert.acknowledged names the
contact and the channel; notification.delivered says 'reply_code'); unsigned or wrongly signed requests, a text
without a code, an unknown code, the right code from another address, a used code, an expired code and a code of
a closed alert are each refused with a problem naming why, and change nothing. Opening a message's link is the
delivery evidence of e-mail ('link_opened')."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from lsg_events import AlertAcknowledged, NotificationDelivered, topics
from lsg_events.partner import signed_headers
from lsg_local.mailpit import Mailpit
from lsg_local.testing import collect, unique
from lsg_testkit.alerts import cap_json, settlement_place

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

GATEWAY = "gateway-secret-0123456789"
CODE = re.compile(r"ar kodu ([A-Z0-9]{6})\.")
LINK = re.compile(r"https?://\S+/v1/ack/([A-Za-z0-9_-]+)")


@pytest.fixture
def mailpit(tmp_path: Path) -> Iterator[Mailpit]:
    server = Mailpit(tmp_path / "mailpit").start()
    try:
        yield server
    finally:
        server.stop()


async def mails_to(mailpit: Mailpit, address: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = [m for m in await asyncio.to_thread(mailpit.messages) if any(t["Address"] == address for t in m["To"])]
        if len(found) >= count:
            return [await asyncio.to_thread(mailpit.message, m["ID"]) for m in reversed(found)]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} message(s) to {address} did not arrive (got {len(found)})")


async def reply(client: Any, sender: str, text: str, secret: str = GATEWAY) -> Any:
    body = json.dumps({"from": sender, "text": text}).encode()
    return await client.post("/v1/replies", content=body, headers=signed_headers(secret, body))


def problem_type(r: Any) -> str:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return str(r.json()["type"]).rsplit("/", 1)[-1]


async def test_a_reply_code_from_the_contacts_address_acknowledges_and_nothing_else_does(
    make_settings, kafka_bootstrap, h, mailpit
) -> None:
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=mailpit.smtp_port,
        notify_interval_s=0.2,
        public_base_url="https://alerts.example.lv",
        ack_deadlines_s={"Extreme": 600.0},
        reply_gateway_secret=GATEWAY,
    )
    settlement = unique("S")[-10:]
    address = f"elder-{settlement}@example.lv"
    async with h.started(settings) as client, collect(kafka_bootstrap, topics.ALERTS) as ev:
        partner, secret = await h.create_partner(client)
        device = unique("siren")
        r = await client.post(
            "/v1/devices",
            json={
                "device_id": device,
                "kind": "siren",
                "place": settlement_place(settlement),
                "partner_id": partner,
                "heartbeat_interval_s": 300,
            },
            headers=h.AUTH_EDITOR,
        )
        assert r.status_code == 201, r.text
        assert (await client.post(f"/v1/devices/{device}/install", json={}, headers=h.AUTH_EDITOR)).status_code == 200
        person = {
            "name": "Jānis",
            "language": "lv",
            "phone": "+371 2612 3456",
            "channels": [{"kind": "email", "address": address}],
        }
        r = await client.post("/v1/contacts", json=person, headers=h.AUTH_ADMIN)
        assert r.status_code == 201, r.text
        elder = str(r.json()["contact_id"])
        rota = {
            "level": "settlement_elder",
            "area_code": f"S{settlement}",
            "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "shift_hours": 24,
            "members": [elder],
        }
        assert (await client.post("/v1/rotas", json=rota, headers=h.AUTH_ADMIN)).status_code == 201

        async def raise_alert(n: int) -> tuple[str, str, str]:
            body = cap_json(identifier=unique("reply"), device_id=device, severity="Extreme", headline=f"Plūdi {n}")
            r = await client.post(f"/v1/partners/{partner}/alerts", content=body, headers=signed_headers(secret, body))
            assert r.status_code == 202, r.text
            message = (await mails_to(mailpit, address, n))[-1]
            assert f"Plūdi {n}" in message["Subject"]
            code, link = CODE.search(message["Text"]), LINK.search(message["Text"])
            assert code, message["Text"]
            assert link, message["Text"]
            return str(r.json()["alert_id"]), code.group(1), link.group(1)

        async def state_of(alert_id: str) -> str:
            return str((await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_VIEWER)).json()["state"])

        first, code, _ = await raise_alert(1)

        # Refused, nothing changes: no signature, a wrong secret, no code, an unknown code, another sender.
        unsigned = await client.post("/v1/replies", json={"from": address, "text": code})
        assert unsigned.status_code == 401
        assert problem_type(unsigned) == "bad-signature"
        assert (await reply(client, address, code, secret="not-the-gateway-secret")).status_code == 401
        malformed = await reply(client, address, "labi, sapratu")
        assert malformed.status_code == 422
        assert malformed.json()["errors"][0]["field"] == "body:text"
        unknown = "".join("A" if ch != "A" else "C" for ch in code)
        r = await reply(client, address, unknown)
        assert r.status_code == 404
        assert problem_type(r) == "reply-code-unknown"
        r = await reply(client, "someone-else@example.lv", code)
        assert r.status_code == 404
        assert problem_type(r) == "reply-code-unknown"
        r = await reply(client, "+371 2000 0000", code)
        assert r.status_code == 404
        missing = await reply(client, address, "")
        assert missing.status_code == 422
        assert "body:text" in missing.text
        assert await state_of(first) == "raised"

        # The code from the elder's own address (any case, words after it) acknowledges.
        r = await reply(client, address.upper(), f"{code.lower()} paldies, braucu")
        assert r.status_code == 200, r.text
        assert r.json() == {"outcome": "acknowledged", "alert_id": first, "contact_id": elder, "channel": "email"}
        assert await state_of(first) == "acknowledged"
        await ev.wait_for(
            lambda c: [e for e in c.events(AlertAcknowledged.event_type) if e.data.alert_id == first], 20, "ack"
        )
        [ack] = [e.data for e in ev.events(AlertAcknowledged.event_type) if e.data.alert_id == first]
        assert (ack.contact_id, ack.channel.value, ack.acknowledged_by) == (elder, "email", f"contact:{elder}")
        await ev.wait_for(
            lambda c: [e for e in c.events(NotificationDelivered.event_type) if e.data.alert_id == first], 20, "dlv"
        )
        [delivered] = [e.data for e in ev.events(NotificationDelivered.event_type) if e.data.alert_id == first]
        assert (delivered.evidence, delivered.contact_id, delivered.channel.value) == ("reply_code", elder, "email")
        r = await reply(client, address, code)  # used
        assert r.status_code == 410
        assert problem_type(r) == "reply-code-used"

        # A second alert: opening its link is the e-mail's delivery evidence; once resolved, its code is refused.
        second, code2, token2 = await raise_alert(2)
        assert (await client.get(f"/v1/ack/{token2}")).status_code == 200
        await ev.wait_for(
            lambda c: [e for e in c.events(NotificationDelivered.event_type) if e.data.alert_id == second], 20, "dlv2"
        )
        [opened] = [e.data for e in ev.events(NotificationDelivered.event_type) if e.data.alert_id == second]
        assert opened.evidence == "link_opened"
        r = await client.post(f"/v1/alerts/{second}/resolve", json={"note": "viltus"}, headers=h.AUTH_EDITOR)
        assert r.status_code == 200, r.text
        r = await reply(client, address, code2)
        assert r.status_code == 409
        assert problem_type(r) == "reply-code-closed"
        assert await state_of(second) == "resolved"

        # A third: its code past the link's lifetime (the message's send time moved back two days) is refused.
        third, code3, _ = await raise_alert(3)
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute(
                "UPDATE notifications SET sent_at = sent_at - interval '2 days' WHERE alert_id = $1::uuid", third
            )
        finally:
            await conn.close()
        r = await reply(client, address, code3)
        assert r.status_code == 410
        assert problem_type(r) == "reply-code-expired"
        assert await state_of(third) == "raised"
        # only the one acknowledgement happened, through the code
        acknowledged = {e.data.alert_id for e in ev.events(AlertAcknowledged.event_type)}
        assert acknowledged & {first, second, third} == {first}

        # A fourth: the code texted back from the contact's phone number (an SMS gateway), written another way.
        fourth, code4, _ = await raise_alert(4)
        r = await reply(client, "+37126123456", code4)
        assert r.status_code == 200, r.text
        assert r.json()["alert_id"] == fourth
        assert await state_of(fourth) == "acknowledged"


async def test_replies_are_refused_when_no_gateway_secret_is_configured(env) -> None:
    body = b'{"from": "a@example.lv", "text": "ACDEFG"}'
    r = await env.client.post("/v1/replies", content=body, headers=signed_headers(GATEWAY, body))
    assert r.status_code == 401
    assert r.json()["type"].endswith("/not-configured")
