"""Issue 26: the operator console's page and JSON reads, on the service's HTTP app with real PostgreSQL, Kafka and
a real SMTP server (Mailpit): open alerts worst first with the time left before escalation, who was notified
(names only for editors), who acknowledged, the ETag (304 when unchanged), the settlements map and the live
stream's change event; acknowledge and resolve through the API change what the console shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lsg_events.partner import signed_headers
from lsg_local.mailpit import Mailpit
from lsg_local.testing import unique
from lsg_testkit.alerts import cap_json, settlement_place

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def mailpit(tmp_path: Path) -> Iterator[Mailpit]:
    server = Mailpit(tmp_path / "mailpit").start()
    try:
        yield server
    finally:
        server.stop()


async def _setup(client: Any, h: Any, settlement: str) -> tuple[str, str, str, str]:
    partner, secret = await h.create_partner(client)
    device = unique("siren")
    body = {
        "device_id": device,
        "kind": "siren",
        "place": settlement_place(settlement),
        "latitude": 56.53,
        "longitude": 27.71,
        "partner_id": partner,
        "heartbeat_interval_s": 300,
    }
    r = await client.post("/v1/devices", json=body, headers=h.AUTH_EDITOR)
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/devices/{device}/install", json={}, headers=h.AUTH_EDITOR)
    assert r.status_code == 200, r.text
    person = {
        "name": "Jānis Bērziņš",
        "language": "lv",
        "channels": [{"kind": "email", "address": f"elder-{settlement}@example.lv"}],
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
    r = await client.post("/v1/rotas", json=rota, headers=h.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    return partner, secret, device, elder


async def _raise(client: Any, partner: str, secret: str, device: str, severity: str, headline: str) -> str:
    body = cap_json(identifier=unique("console"), device_id=device, severity=severity, headline=headline)
    r = await client.post(f"/v1/partners/{partner}/alerts", content=body, headers=signed_headers(secret, body))
    assert r.status_code == 202, r.text
    return str(r.json()["alert_id"])


async def _until(read: Any, check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await read()
        if check(value):
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached within {timeout} s: {value}")


async def test_console_page_and_assets_are_served_without_data_and_reads_need_a_token(env, h) -> None:
    client = env.client
    page = await client.get("/console")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<select id="lang">' in page.text
    for name, kind in (("console.js", "text/javascript"), ("i18n.js", "text/javascript"), ("console.css", "text/css")):
        asset = await client.get(f"/console/static/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(kind)
    assert (await client.get("/console/static/secrets.txt")).status_code == 404
    for path in ("/v1/console/alerts", "/v1/console/map", "/v1/console/stream"):
        r = await client.get(path)
        assert r.status_code == 401, path
        assert r.headers["content-type"].startswith("application/problem+json")
    bad = await client.get("/v1/console/stream?max_s=0", headers=h.AUTH_VIEWER)
    assert bad.status_code == 422
    assert "max_s" in bad.text


async def test_open_alerts_worst_first_with_time_left_who_was_notified_and_who_acknowledged(
    make_settings, h, mailpit
) -> None:
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=mailpit.smtp_port,
        notify_interval_s=0.2,
        ack_deadlines_s={"Extreme": 600.0, "Minor": 3600.0},
    )
    settlement = unique("S")[-10:]
    async with h.started(settings) as client:
        partner, secret, device, elder = await _setup(client, h, settlement)
        minor = await _raise(client, partner, secret, device, "Minor", "Maza noplūde")
        extreme = await _raise(client, partner, secret, device, "Extreme", "Ugunsgrēks")

        async def read(auth: dict[str, str] = h.AUTH_EDITOR) -> Any:
            return await client.get("/v1/console/alerts", headers=auth)

        def notified(r: Any) -> bool:
            items = {i["alert_id"]: i for i in r.json()["items"]}
            return extreme in items and any(n["state"] == "sent" for n in items[extreme]["notifications"])

        r = await _until(read, notified)
        body = r.json()
        ours = [i for i in body["items"] if i["alert_id"] in (minor, extreme)]
        assert [i["alert_id"] for i in ours] == [extreme, minor]  # worst severity first
        top = ours[0]
        assert top["severity"] == "Extreme"
        assert top["state"] == "raised"
        assert 500 < top["seconds_to_escalation"] <= 600
        assert body["by_severity"]["Extreme"] >= 1
        assert body["by_severity"]["Minor"] >= 1
        [sent] = [n for n in top["notifications"] if n["state"] == "sent"]
        assert sent["contact_id"] == elder
        assert sent["name"] == "Jānis Bērziņš"  # an editor sees who
        assert sent["level"] == "settlement_elder"
        assert sent["channel"] == "email"
        # a viewer sees contact ids, not names
        as_viewer = (await read(h.AUTH_VIEWER)).json()
        viewer_top = next(i for i in as_viewer["items"] if i["alert_id"] == extreme)
        assert {n["name"] for n in viewer_top["notifications"]} == {None}

        # unchanged: 304 on the same ETag
        tag = r.headers["etag"]
        same = await client.get("/v1/console/alerts", headers={**h.AUTH_EDITOR, "If-None-Match": tag})
        assert same.status_code == 304

        # the map: the settlement at its device's coordinates, with its open alerts and the worst severity
        world = (await client.get("/v1/console/map", headers=h.AUTH_VIEWER)).json()
        [place] = [p for p in world["items"] if p["code"] == f"S{settlement}"]
        assert (place["latitude"], place["longitude"]) == (56.53, 27.71)
        assert place["open_alerts"] == 2
        assert place["worst_severity"] == "Extreme"
        assert place["devices"] == 1
        assert world["bounds"]["south"] <= 56.53 <= world["bounds"]["north"]

        # the live stream announces the current state at once
        stream = await client.get("/v1/console/stream?max_s=0.5", headers=h.AUTH_VIEWER)
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "event: change\ndata: {" in stream.text

        # acknowledge with a note (the API's own route): the console shows who, and no more countdown
        r = await client.post(
            f"/v1/alerts/{extreme}/acknowledge", json={"note": "Brigāde izsaukta"}, headers=h.AUTH_EDITOR
        )
        assert r.status_code == 200, r.text
        after = await client.get("/v1/console/alerts", headers={**h.AUTH_EDITOR, "If-None-Match": tag})
        assert after.status_code == 200
        assert after.headers["etag"] != tag
        top = next(i for i in after.json()["items"] if i["alert_id"] == extreme)
        assert top["state"] == "acknowledged"
        assert top["acknowledged_by"] == "duty-officer-7"
        assert top["seconds_to_escalation"] is None

        # resolve: it leaves the open list and the map's count
        r = await client.post(f"/v1/alerts/{extreme}/resolve", json={"note": "Nodzēsts"}, headers=h.AUTH_EDITOR)
        assert r.status_code == 200, r.text
        left = (await client.get("/v1/console/alerts", headers=h.AUTH_EDITOR)).json()
        assert extreme not in {i["alert_id"] for i in left["items"]}
        world = (await client.get("/v1/console/map", headers=h.AUTH_VIEWER)).json()
        [place] = [p for p in world["items"] if p["code"] == f"S{settlement}"]
        assert place["open_alerts"] == 1
        assert place["worst_severity"] == "Minor"
