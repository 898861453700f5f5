"""The HTTP partner door and the staff lifecycle on real Kafka + PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from lsg_events import AlertAcknowledged, AlertCancelled, AlertRaised, AlertResolved, topics
from lsg_events.partner import cap_time, signed_headers
from lsg_local.testing import collect, unique
from lsg_testkit.alerts import cap_json, cap_xml, reference

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

RAISED = AlertRaised.event_type


def raised_for(collector, identifier: str) -> list[AlertRaised]:
    return [e.data for e in collector.events(RAISED) if e.data.identifier == identifier]  # type: ignore[attr-defined]


async def post_alert(env, body: bytes, *, partner: str | None = None, secret: str | None = None, **kw):
    headers = signed_headers(secret or env.secret, body, **kw)
    return await env.client.post(f"/v1/partners/{partner or env.partner_id}/alerts", content=body, headers=headers)


async def test_signed_http_alert_raises_and_repeat_is_a_no_op(env, kafka_bootstrap) -> None:
    ident = unique("fire")
    body = cap_xml(identifier=ident, device_id=env.device_id, severity="Severe", category="Fire")
    async with collect(kafka_bootstrap, topics.ALERTS) as events:
        started = time.monotonic()
        r = await post_alert(env, body, content_type="application/cap+xml")
        assert r.status_code == 202, r.text
        alert_id = r.json()["alert_id"]
        await events.wait_for(lambda c: raised_for(c, ident), 20, "alert.raised")
        elapsed = time.monotonic() - started
        again = await post_alert(env, body, content_type="application/cap+xml")
        assert again.status_code == 200
        assert again.json() == {
            "outcome": "duplicate",
            "alert_ids": [alert_id],
            "alert_id": alert_id,
        }
        await asyncio.sleep(1.5)
        raised = raised_for(events, ident)
    assert len(raised) == 1, "a repeated alert must not raise twice"
    event = raised[0]
    assert event.alert_id == alert_id
    assert (event.severity, event.urgency, event.certainty, event.category) == (
        "Severe",
        "Immediate",
        "Observed",
        "Fire",
    )
    assert event.device_id == env.device_id
    assert event.partner_id == env.partner_id
    assert event.place.settlement is not None
    assert event.place.settlement.code == "S0001"
    assert event.drill is False
    assert event.level == "settlement_elder"
    assert event.kind == "cap"
    assert event.ack_deadline is not None
    assert elapsed < 5, f"alert.raised took {elapsed:.2f}s"


async def test_refusals_answer_4xx_and_raise_nothing(env, kafka_bootstrap, h) -> None:
    other_partner, other_secret = await h.create_partner(env.client)
    other_device = await h.install_device(env.client, other_partner)
    cases: list[tuple[str, int, str]] = []

    async def expect(name: str, response, status: int, field: str | None) -> None:
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json"), name
        if field is not None:
            fields = [e["field"] for e in response.json().get("errors", [])]
            assert field in fields, f"{name}: {fields}"
        cases.append((name, status, field or ""))

    ids = {k: unique(k) for k in ("sig", "stale", "other", "big", "xml", "enum", "nosig", "refs")}
    body = cap_json(identifier=ids["sig"], device_id=env.device_id)
    await expect("wrong signature", await post_alert(env, body, secret="not-the-secret"), 401, "X-LSG-Signature")
    body = cap_json(identifier=ids["stale"], device_id=env.device_id)
    stale = await post_alert(env, body, timestamp=int(time.time()) - 301)
    await expect("stale timestamp", stale, 401, "X-LSG-Timestamp")
    r = await env.client.post(
        f"/v1/partners/{env.partner_id}/alerts",
        content=cap_json(identifier=ids["nosig"], device_id=env.device_id),
        headers={"content-type": "application/json"},
    )
    await expect("no signature", r, 401, "X-LSG-Timestamp")
    body = cap_json(identifier=ids["other"], device_id=other_device)
    await expect("other partner's device", await post_alert(env, body), 403, "parameter:deviceId")
    big = cap_json(identifier=ids["big"], device_id=env.device_id, headline="x" * 70_000)
    await expect("oversize", await post_alert(env, big), 413, "body")
    bad_xml = cap_xml(identifier=ids["xml"], device_id=env.device_id)[:-20]
    await expect("malformed xml", await post_alert(env, bad_xml, content_type="application/cap+xml"), 400, "alert")
    bad_enum = cap_xml(identifier=ids["enum"], device_id=env.device_id, severity="Catastrophic")
    r = await post_alert(env, bad_enum, content_type="application/cap+xml")
    await expect("invalid enumeration", r, 422, "alert.info[0].severity")
    update = cap_json(
        identifier=ids["refs"],
        device_id=env.device_id,
        msg_type="Update",
        references=reference("vendor@example.org", "never-sent", cap_time()),
    )
    await expect("unknown reference", await post_alert(env, update), 422, "alert.references")
    # The partner may not use another partner's secret either.
    body = cap_json(identifier=unique("x"), device_id=env.device_id)
    await expect("other partner's secret", await post_alert(env, body, secret=other_secret), 401, "X-LSG-Signature")

    marker = unique("marker")
    async with collect(kafka_bootstrap, topics.ALERTS) as events:
        assert (await post_alert(env, cap_json(identifier=marker, device_id=env.device_id))).status_code == 202
        await events.wait_for(lambda c: raised_for(c, marker), 20, "marker alert")
        await asyncio.sleep(1.0)
        for ident in ids.values():
            assert not raised_for(events, ident), f"{ident} must not raise an alert"
    assert len(cases) == 9


async def test_rate_limit_answers_429(make_settings, h) -> None:
    settings = make_settings(partner_rate_per_s=0.5, partner_rate_burst=2)
    async with h.started(settings) as client:
        partner, secret = await h.create_partner(client)
        device = await h.install_device(client, partner)
        statuses = []
        for _ in range(3):
            body = cap_json(identifier=unique("rl"), device_id=device, severity="Minor")
            r = await client.post(f"/v1/partners/{partner}/alerts", content=body, headers=signed_headers(secret, body))
            statuses.append(r.status_code)
        assert statuses == [202, 202, 429]
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["errors"][0]["field"] == "partner_id"


async def test_update_cancel_ack_resolve_and_drills(env, kafka_bootstrap, h) -> None:
    sender, ident, sent = "vendor@example.org", unique("flood"), cap_time()
    async with collect(kafka_bootstrap, topics.ALERTS) as events:
        first = cap_json(identifier=ident, sender=sender, sent=sent, device_id=env.device_id, severity="Moderate")
        r = await post_alert(env, first)
        alert_id = r.json()["alert_id"]
        update_ident = unique("flood-upd")
        update = cap_json(
            identifier=update_ident,
            sender=sender,
            msg_type="Update",
            references=reference(sender, ident, sent),
            device_id=env.device_id,
            severity="Extreme",
            event="Flood rising",
        )
        r = await post_alert(env, update)
        assert r.status_code == 202, r.text
        assert r.json()["alert_id"] == alert_id
        await events.wait_for(lambda c: raised_for(c, ident) and raised_for(c, ident)[-1].msg_type == "Update", 20)
        updated = raised_for(events, ident)[-1]
        assert updated.alert_id == alert_id
        assert updated.severity == "Extreme"
        assert updated.event == "Flood rising"

        cancel = cap_json(
            identifier=unique("flood-cancel"),
            sender=sender,
            msg_type="Cancel",
            references=reference(sender, ident, sent),
            with_info=False,
        )
        r = await post_alert(env, cancel)
        assert r.status_code == 202, r.text
        assert r.json()["outcome"] == "cancelled"
        await events.wait_for(
            lambda c: any(e.data.alert_id == alert_id for e in c.events(AlertCancelled.event_type)),  # type: ignore[attr-defined]
            20,
            "alert.cancelled",
        )
        again = await post_alert(env, update.replace(update_ident.encode(), b"late-" + update_ident.encode()))
        assert again.status_code == 409

        # acknowledge and resolve through the API
        second = cap_json(identifier=unique("smoke"), device_id=env.device_id, severity="Severe")
        second_id = (await post_alert(env, second)).json()["alert_id"]
        r = await env.client.post(
            f"/v1/alerts/{second_id}/acknowledge", json={"note": "on my way"}, headers=h.AUTH_VIEWER
        )
        assert r.status_code == 403
        r = await env.client.post(
            f"/v1/alerts/{second_id}/acknowledge", json={"note": "on my way"}, headers=h.AUTH_EDITOR
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged"
        r = await env.client.post(f"/v1/alerts/{second_id}/acknowledge", json={}, headers=h.AUTH_EDITOR)
        assert r.status_code == 409
        r = await env.client.post(
            f"/v1/alerts/{second_id}/resolve", json={"note": "false alarm"}, headers=h.AUTH_EDITOR
        )
        assert r.status_code == 200
        assert r.json()["state"] == "resolved"
        await events.wait_for(
            lambda c: any(e.data.alert_id == second_id for e in c.events(AlertResolved.event_type)), 20, "resolved"
        )
        acked = [e.data for e in events.events(AlertAcknowledged.event_type) if e.data.alert_id == second_id]
        assert acked[0].acknowledged_by == "duty-officer-7"
        assert acked[0].within_deadline
        assert acked[0].note is None, "free-text notes stay out of events"

        # drills: flagged in the event, kept out of live views
        drill_ident = unique("drill")
        r = await post_alert(env, cap_json(identifier=drill_ident, status="Exercise", device_id=env.device_id))
        drill_id = r.json()["alert_id"]
        await events.wait_for(lambda c: raised_for(c, drill_ident), 20, "drill raised")
        assert raised_for(events, drill_ident)[0].drill is True

    detail = (await env.client.get(f"/v1/alerts/{second_id}", headers=h.AUTH_VIEWER)).json()
    assert [x["action"] for x in detail["history"]] == ["raised", "acknowledged", "resolved"]
    assert detail["history"][1]["actor"] == "duty-officer-7"
    assert detail["history"][1]["note"] == "on my way"
    live = (await env.client.get("/v1/alerts", params={"device_id": env.device_id}, headers=h.AUTH_VIEWER)).json()
    live_ids = {a["alert_id"] for a in live["items"]}
    assert {alert_id, second_id} <= live_ids
    assert drill_id not in live_ids
    only = await env.client.get(
        "/v1/alerts", params={"device_id": env.device_id, "drills": "only"}, headers=h.AUTH_VIEWER
    )
    assert [a["alert_id"] for a in only.json()["items"]] == [drill_id]
    by_state = await env.client.get(
        "/v1/alerts", params={"status": "cancelled", "device_id": env.device_id}, headers=h.AUTH_VIEWER
    )
    assert [a["alert_id"] for a in by_state.json()["items"]] == [alert_id]
    bad = await env.client.get("/v1/alerts", params={"severity": "Huge"}, headers=h.AUTH_VIEWER)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query:severity"


async def test_secrets_never_reach_logs_events_or_reads(env, kafka_bootstrap, producer, h) -> None:
    root = logging.getLogger()
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))
            records.append(repr(record.__dict__))

    handler = Capture(level=logging.DEBUG)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        partner, secret = await h.create_partner(env.client)
        rotated = (await env.client.post(f"/v1/partners/{partner}/secrets", headers=h.AUTH_ADMIN)).json()["secret"]
        device = await h.install_device(env.client, partner)
        async with collect(kafka_bootstrap, topics.ALERTS, topics.dlq_topic(topics.PARTNER_INPUT)) as events:
            for s in (secret, rotated):
                body = cap_json(identifier=unique("log"), device_id=device)
                r = await env.client.post(
                    f"/v1/partners/{partner}/alerts", content=body, headers=signed_headers(s, body)
                )
                assert r.status_code == 202
            ident = unique("logk")
            body = cap_json(identifier=ident, device_id=device)
            from lsg_events.partner import kafka_headers

            await producer.send_and_wait(
                topics.PARTNER_INPUT, body, key=device.encode(), headers=kafka_headers(partner, rotated, body)
            )
            bad = cap_json(identifier=unique("logbad"), device_id=device)
            await producer.send_and_wait(
                topics.PARTNER_INPUT, bad, key=device.encode(), headers=kafka_headers(partner, "wrong", bad)
            )
            await events.wait_for(lambda c: raised_for(c, ident), 30, "kafka alert")
            await asyncio.sleep(1)
            payloads = [(r.value or b"").decode("utf-8", "replace") + repr(r.headers) for r in events.records]
        listing = (await env.client.get(f"/v1/partners/{partner}", headers=h.AUTH_ADMIN)).text
        everything = (await env.client.get("/v1/partners", headers=h.AUTH_ADMIN)).text
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert records, "the capture saw the ingestion's log lines"
    for s in (secret, rotated):
        assert not any(s in line for line in records), "a partner secret reached the logs"
        assert not any(s in p for p in payloads), "a partner secret reached an event or a dead letter"
        assert s not in listing
        assert s not in everything
    assert len((await env.client.get(f"/v1/partners/{partner}", headers=h.AUTH_ADMIN)).json()["secrets"]) == 2


async def test_rotation_two_secrets_then_retire(env, h) -> None:
    rotated = (await env.client.post(f"/v1/partners/{env.partner_id}/secrets", headers=h.AUTH_ADMIN)).json()
    for s in (env.secret, rotated["secret"]):
        body = cap_json(identifier=unique("rot"), device_id=env.device_id, severity="Minor")
        assert (await post_alert(env, body, secret=s)).status_code == 202
    info = (await env.client.get(f"/v1/partners/{env.partner_id}", headers=h.AUTH_ADMIN)).json()
    old = next(s["secret_id"] for s in info["secrets"] if s["secret_id"] != rotated["secret_id"])
    r = await env.client.delete(f"/v1/partners/{env.partner_id}/secrets/{old}", headers=h.AUTH_ADMIN)
    assert r.status_code == 204
    body = cap_json(identifier=unique("rot"), device_id=env.device_id, severity="Minor")
    assert (await post_alert(env, body)).status_code == 401
    assert (await post_alert(env, body, secret=rotated["secret"])).status_code == 202
    assert (await env.client.post("/v1/partners", json={"partner_id": "x"}, headers=h.AUTH_EDITOR)).status_code == 403


async def test_validator_lists_every_reason(env) -> None:
    body = cap_xml(identifier="has space", severity="Bad", urgency="Soon")
    r = await env.client.post("/v1/cap/validate", content=body, headers={"content-type": "application/cap+xml"})
    assert r.status_code == 200
    out = r.json()
    assert out["valid"] is False
    assert out["format"] == "xml"
    assert {e["path"] for e in out["errors"]} == {
        "alert.identifier",
        "alert.info[0].severity",
        "alert.info[0].urgency",
    }
    good = await env.client.post("/v1/cap/validate", content=cap_json(identifier="ok"))
    assert good.json() == {"valid": True, "format": "json", "errors": []}
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>&b;</note></alert>'
    )
    r = await env.client.post("/v1/cap/validate", content=bomb, headers={"content-type": "application/xml"})
    assert r.status_code == 200
    assert r.json()["valid"] is False


async def test_devices_listing_with_availability(env, h) -> None:
    r = await env.client.get("/v1/devices", params={"partner_id": env.partner_id}, headers=h.AUTH_VIEWER)
    assert r.status_code == 200, r.text
    [device] = r.json()["items"]
    assert device["device_id"] == env.device_id
    assert device["status"] == "installed"
    assert device["availability"]["supervised_s"] > 0
    assert device["availability"]["ratio"] == 0.0
    assert (await env.client.get("/v1/devices")).status_code == 401
