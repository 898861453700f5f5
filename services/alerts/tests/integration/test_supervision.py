"""Escalation deadlines (also across a restart) and heartbeat supervision, on real Kafka + PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from lsg_events import AlertEscalated, AlertRaised, AlertResolved, DeviceStatusChanged, topics
from lsg_events.partner import signed_headers
from lsg_local.testing import collect, unique
from lsg_testkit.alerts import cap_json, heartbeat_json

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

SHORT = {"Extreme": 1.0, "Severe": 2.0, "Moderate": 30.0}


def escalations(collector, alert_id: str) -> list[AlertEscalated]:
    return [
        e.data  # type: ignore[misc]
        for e in collector.events(AlertEscalated.event_type)
        if e.data.alert_id == alert_id  # type: ignore[attr-defined]
    ]


async def raise_alert(client, partner: str, secret: str, device: str, severity: str) -> str:
    body = cap_json(identifier=unique("esc"), device_id=device, severity=severity)
    r = await client.post(f"/v1/partners/{partner}/alerts", content=body, headers=signed_headers(secret, body))
    assert r.status_code == 202, r.text
    return str(r.json()["alert_id"])


async def test_escalation_climbs_the_ladder_until_acknowledged(make_settings, kafka_bootstrap, h) -> None:
    async with h.started(make_settings(ack_deadlines_s=SHORT)) as client, collect(kafka_bootstrap, topics.ALERTS) as ev:
        partner, secret = await h.create_partner(client)
        device = await h.install_device(client, partner)
        alert_id = await raise_alert(client, partner, secret, device, "Extreme")
        await ev.wait_for(lambda c: len(escalations(c, alert_id)) >= 3, 30, "three escalations")
        levels = [e.level.value for e in escalations(ev, alert_id)]
        assert levels[:3] == ["municipality", "regional_duty_service", "regional_duty_service"]
        assert [e.escalation_count for e in escalations(ev, alert_id)][:3] == [1, 2, 3]
        r = await client.post(f"/v1/alerts/{alert_id}/acknowledge", json={}, headers=h.AUTH_EDITOR)
        assert r.status_code == 200
        count = len(escalations(ev, alert_id))
        await asyncio.sleep(2.5)
        assert len(escalations(ev, alert_id)) <= count + 1, "escalation stops once acknowledged"
        detail = (await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_VIEWER)).json()
        assert detail["next_escalation_at"] is None
        assert detail["state"] == "acknowledged"


async def test_escalation_survives_a_restart(make_settings, kafka_bootstrap, h) -> None:
    settings = make_settings(ack_deadlines_s=SHORT)
    async with h.started(settings) as client:
        partner, secret = await h.create_partner(client)
        device = await h.install_device(client, partner)
        alert_id = await raise_alert(client, partner, secret, device, "Severe")
    # The service is down when the 2-second deadline passes.
    await asyncio.sleep(2.5)
    async with collect(kafka_bootstrap, topics.ALERTS) as ev:
        assert not escalations(ev, alert_id)
        async with h.started(settings):
            await ev.wait_for(lambda c: escalations(c, alert_id), 30, "escalation after restart")
    assert escalations(ev, alert_id)[0].level.value == "municipality"


async def test_missed_heartbeats_offline_alert_then_back_online(make_settings, kafka_bootstrap, h) -> None:
    async with h.started(make_settings()) as client, collect(kafka_bootstrap, topics.ALERTS) as ev:
        partner, secret = await h.create_partner(client)
        device = await h.install_device(client, partner, interval=1)

        def statuses(c) -> list[str]:
            return [
                e.data.status.value  # type: ignore[attr-defined]
                for e in c.events(DeviceStatusChanged.event_type)
                if e.data.device_id == device  # type: ignore[attr-defined]
            ]

        hb = heartbeat_json(device, partner)
        r = await client.post(f"/v1/partners/{partner}/heartbeats", content=hb, headers=signed_headers(secret, hb))
        assert r.status_code == 202, r.text
        await ev.wait_for(lambda c: statuses(c)[-1:] == ["online"], 20, "online")
        await ev.wait_for(lambda c: statuses(c)[-1:] == ["offline"], 20, "offline after 3 missed heartbeats")

        def offline_alerts(c) -> list[AlertRaised]:
            return [
                e.data  # type: ignore[misc]
                for e in c.events(AlertRaised.event_type)
                if e.data.device_id == device and e.data.kind == "device_offline"  # type: ignore[attr-defined]
            ]

        await ev.wait_for(lambda c: offline_alerts(c), 20, "device_offline alert")
        offline_alert = offline_alerts(ev)[0]
        assert offline_alert.partner_id == partner
        assert offline_alert.category == "Infra"
        # The operations gauges see it too (sampled after each supervision scan).
        from lsg_alerts.adapters import gauges

        for _ in range(50):
            if gauges.DEVICES.labels("offline")._value.get() >= 1:
                break
            await asyncio.sleep(0.1)
        assert gauges.DEVICES.labels("offline")._value.get() >= 1
        assert gauges.AWAITING_ACK.labels(offline_alert.severity)._value.get() >= 1

        hb = heartbeat_json(device, partner, battery_pct=5.0)
        r = await client.post(f"/v1/partners/{partner}/heartbeats", content=hb, headers=signed_headers(secret, hb))
        assert r.status_code == 202, r.text
        await ev.wait_for(lambda c: statuses(c)[-1:] == ["online"], 20, "back online")
        await ev.wait_for(
            lambda c: any(
                e.data.alert_id == offline_alert.alert_id  # type: ignore[attr-defined]
                for e in c.events(AlertResolved.event_type)
            ),
            20,
            "offline alert resolved by the heartbeat",
        )
        await ev.wait_for(
            lambda c: any(
                e.data.device_id == device and e.data.kind == "low_battery" and e.data.severity == "Minor"  # type: ignore[attr-defined]
                for e in c.events(AlertRaised.event_type)
            ),
            20,
            "low-battery Minor alert",
        )
        again = await client.post(f"/v1/partners/{partner}/heartbeats", content=hb, headers=signed_headers(secret, hb))
        assert again.json()["outcome"] == "duplicate"
        detail = (await client.get(f"/v1/devices/{device}", headers=h.AUTH_VIEWER)).json()
        assert detail["battery_pct"] == 5.0
        assert detail["signal_dbm"] == -70.0
        assert detail["tamper"] is False


async def test_a_late_older_heartbeat_changes_no_reading(make_settings, h) -> None:
    """The doors deliver out of order (a partner-topic backlog behind an HTTP heartbeat): only the newest
    reading counts, so a stale 'battery 90 %' neither resolves the low-battery alert nor overwrites 14 %."""
    async with h.started(make_settings()) as client:
        partner, secret = await h.create_partner(client)
        device = await h.install_device(client, partner)
        sent = datetime.now(UTC)

        async def beat(at: datetime, battery: float) -> None:
            hb = heartbeat_json(device, partner, battery_pct=battery, sent_at=at.isoformat())
            r = await client.post(f"/v1/partners/{partner}/heartbeats", content=hb, headers=signed_headers(secret, hb))
            assert r.status_code == 202, r.text
            assert r.json()["outcome"] == "heartbeat"

        async def low_battery_states() -> list[str]:
            r = await client.get("/v1/alerts", params={"device_id": device, "limit": 50}, headers=h.AUTH_VIEWER)
            assert r.status_code == 200, r.text
            return [a["state"] for a in r.json()["items"] if a["kind"] == "low_battery"]

        async def battery() -> float:
            return float((await client.get(f"/v1/devices/{device}", headers=h.AUTH_VIEWER)).json()["battery_pct"])

        await beat(sent, 14.0)
        assert await low_battery_states() == ["raised"]
        await beat(sent - timedelta(minutes=1), 90.0)  # sent before the 14 %, delivered after it
        assert await low_battery_states() == ["raised"]
        assert await battery() == 14.0
        await beat(sent + timedelta(seconds=1), 95.0)  # the battery replaced
        assert await low_battery_states() == ["resolved"]
        assert await battery() == 95.0
