"""The Kafka partner door: signed records on the partner topic, dead letters for refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

from lsg_events import AlertRaised, DeviceStatusChanged, topics
from lsg_events.partner import kafka_headers, signed_headers
from lsg_local.testing import collect, unique
from lsg_shared import dlq
from lsg_testkit.alerts import cap_json, cap_xml, heartbeat_json

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

RAISED = AlertRaised.event_type
DLQ = topics.dlq_topic(topics.PARTNER_INPUT)


def raised_for(collector, identifier: str) -> list[AlertRaised]:
    return [e.data for e in collector.events(RAISED) if e.data.identifier == identifier]  # type: ignore[attr-defined]


def dead_letters(collector, marker: bytes) -> list:
    return [r for r in collector.records if r.topic == DLQ and marker in (r.value or b"")]


async def test_partner_topic_alert_refusals_and_duplicates(env, kafka_bootstrap, producer, h) -> None:
    other_partner, _ = await h.create_partner(env.client)
    other_device = await h.install_device(env.client, other_partner)

    async def send(body: bytes, headers: list[tuple[str, bytes]]) -> None:
        await producer.send_and_wait(topics.PARTNER_INPUT, body, key=env.device_id.encode(), headers=headers)

    good = unique("kgood")
    bad = {k: unique(f"k{k}") for k in ("sig", "stale", "other", "big", "xml", "enum")}
    expected_reason = {
        "sig": "bad-signature",
        "stale": "bad-signature",
        "other": "device-not-allowed",
        "big": "too-large",
        "xml": "malformed",
        "enum": "invalid-cap",
    }
    async with collect(kafka_bootstrap, topics.ALERTS, DLQ) as events:
        started = time.monotonic()
        body = cap_json(identifier=good, device_id=env.device_id)
        await send(body, kafka_headers(env.partner_id, env.secret, body))
        await events.wait_for(lambda c: raised_for(c, good), 30, "alert.raised from the partner topic")
        latency = time.monotonic() - started

        b = cap_json(identifier=bad["sig"], device_id=env.device_id)
        await send(b, kafka_headers(env.partner_id, "wrong-secret", b))
        b = cap_json(identifier=bad["stale"], device_id=env.device_id)
        await send(b, kafka_headers(env.partner_id, env.secret, b, timestamp=int(time.time()) - 400))
        b = cap_json(identifier=bad["other"], device_id=other_device)
        await send(b, kafka_headers(env.partner_id, env.secret, b))
        b = cap_json(identifier=bad["big"], device_id=env.device_id, headline="x" * 70_000)
        await send(b, kafka_headers(env.partner_id, env.secret, b))
        b = cap_xml(identifier=bad["xml"], device_id=env.device_id)[:-15]
        await send(b, kafka_headers(env.partner_id, env.secret, b, content_type="application/cap+xml"))
        b = cap_json(identifier=bad["enum"], device_id=env.device_id, category="Weather")
        await send(b, kafka_headers(env.partner_id, env.secret, b))
        # The consumer goes on: the same alert as the first is a no-op, through either door.
        body_again = cap_json(identifier=good, device_id=env.device_id, sent=None)
        await send(body, kafka_headers(env.partner_id, env.secret, body))
        r = await env.client.post(
            f"/v1/partners/{env.partner_id}/alerts", content=body, headers=signed_headers(env.secret, body)
        )
        assert r.status_code == 200
        assert r.json()["outcome"] == "duplicate"
        after = unique("kafter")
        b = cap_xml(identifier=after, device_id=env.device_id)
        await send(b, kafka_headers(env.partner_id, env.secret, b, content_type="application/cap+xml"))
        await events.wait_for(lambda c: raised_for(c, after), 30, "the alert after the refusals")
        await events.wait_for(
            lambda c: all(dead_letters(c, v.encode()) for v in bad.values()), 30, "every refusal dead-lettered"
        )
        await asyncio.sleep(1.0)
        assert len(raised_for(events, good)) == 1
        for key, ident in bad.items():
            assert not raised_for(events, ident), key
            [letter] = dead_letters(events, ident.encode())
            assert letter.headers[dlq.REASON] == expected_reason[key], (key, letter.headers)
            assert letter.headers[dlq.ORIGINAL_TOPIC] == topics.PARTNER_INPUT
        assert "alert.info[0].category" in dead_letters(events, bad["enum"].encode())[0].headers[dlq.ERROR]
    assert body_again  # a fresh 'sent' makes a different alert: only the exact repeat is a no-op
    assert latency < 10

    # Every record is in the audit log as a request at the HTTP door would be: who (verified or only
    # claimed), the action, the status that door would have answered, the outcome or refusal, where it was.
    expected = sorted(
        [
            ("partner", 202, "raised"),  # good
            ("invalid", 401, "bad-signature"),  # sig
            ("invalid", 401, "bad-signature"),  # stale
            ("partner", 403, "device-not-allowed"),  # other
            ("invalid", 413, "too-large"),  # big: refused before the signature is checked
            ("partner", 400, "malformed"),  # xml
            ("partner", 422, "invalid-cap"),  # enum
            ("partner", 200, "duplicate"),  # good again
            ("partner", 202, "raised"),  # after
        ]
    )
    params = {"subject": env.partner_id, "action": f"KAFKA {topics.PARTNER_INPUT} *"}
    deadline = time.monotonic() + 15
    while True:  # the writer flushes its buffer every 0.5 s
        r = await env.client.get("/v1/audit", params=params, headers=h.AUTH_ADMIN)
        assert r.status_code == 200, r.text
        rows = r.json()["items"]
        if len(rows) >= len(expected) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert sorted((row["auth"], row["status"], row["detail"]["outcome"]) for row in rows) == expected, rows
    for row in rows:
        assert row["kind"] == "request"
        assert row["action"] == f"KAFKA {topics.PARTNER_INPUT} alert"
        assert row["resource"] == {"partner_id": env.partner_id}
        assert isinstance(row["detail"]["offset"], int)
        assert isinstance(row["detail"]["partition"], int)
        assert env.secret not in str(row)
        assert "v1=" not in str(row)


async def test_partner_topic_heartbeat_and_garbage(env, kafka_bootstrap, producer) -> None:
    async with collect(kafka_bootstrap, topics.ALERTS, DLQ) as events:
        garbage = b"\x00\xffnot anything" + unique("junk").encode()
        await producer.send_and_wait(topics.PARTNER_INPUT, garbage, headers=[("x-lsg-partner", b"nobody")])
        await producer.send_and_wait(topics.PARTNER_INPUT, garbage + b"2", headers=[])
        hb = heartbeat_json(env.device_id, env.partner_id)
        await producer.send_and_wait(
            topics.PARTNER_INPUT,
            hb,
            key=env.device_id.encode(),
            headers=kafka_headers(env.partner_id, env.secret, hb, kind="heartbeat", content_type="application/json"),
        )
        await events.wait_for(
            lambda c: any(
                e.data.device_id == env.device_id and e.data.status == "online"  # type: ignore[attr-defined]
                for e in c.events(DeviceStatusChanged.event_type)
            ),
            30,
            "device online after a heartbeat",
        )
        await events.wait_for(lambda c: len(dead_letters(c, garbage)) >= 2, 30, "garbage dead-lettered")
        reasons = {r.headers[dlq.REASON] for r in dead_letters(events, garbage)}
        assert reasons == {"bad-signature", "missing-partner"}
