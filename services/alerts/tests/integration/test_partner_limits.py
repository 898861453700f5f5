"""Issue 29, the partner door's limits on real PostgreSQL and Kafka: one rate limit across replicas, 503 with
Retry-After while the database cannot be reached (then the same alert accepted once), and the signature
window's clock-skew reason."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from lsg_alerts.entrypoints.app import create_app
from lsg_events.partner import signed_headers
from lsg_local.testing import running_app, unique, wait_ready
from lsg_testkit.alerts import cap_json

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]


def _proxy_class() -> Any:
    """The fault suite's TCP proxy (tests/faults/proxy.py), loaded by path rather than copied."""
    path = Path(__file__).resolve().parents[4] / "tests" / "faults" / "proxy.py"
    spec = importlib.util.spec_from_file_location("faults_proxy", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TcpProxy


async def _send(client: Any, partner: str, secret: str, device: str, ident: str, **kw: Any) -> Any:
    body = cap_json(identifier=ident, device_id=device, severity="Minor")
    headers = signed_headers(secret, body, **kw)
    return await client.post(f"/v1/partners/{partner}/alerts", content=body, headers=headers)


async def test_two_replicas_share_one_rate_limit(make_settings, h) -> None:
    """Two app instances (replicas) on one database: together they admit the partner's configured rate (burst +
    rate x time, within 10 %), where each used to admit all of it. Offered: about 4 x the rate, alternating."""
    rate, burst, seconds = 20.0, 10, 4.0
    settings = make_settings(partner_rate_per_s=rate, partner_rate_burst=burst)
    async with h.started(settings) as one, running_app(create_app(settings)) as two:
        await wait_ready(two)  # the second replica joins the first one's consumer group (no skip_to_end)
        partner, secret = await h.create_partner(one)
        device = await h.install_device(one, partner)
        statuses: dict[int, int] = {}
        by_replica = [0, 0]
        started = time.monotonic()
        i = 0
        while time.monotonic() - started < seconds:
            replica = i % 2
            r = await _send((one, two)[replica], partner, secret, device, unique("rl2"))
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 202:
                by_replica[replica] += 1
            else:
                assert r.status_code == 429, r.text
                assert int(r.headers["retry-after"]) >= 1
            i += 1
            await asyncio.sleep(1 / (4 * rate))
        elapsed = time.monotonic() - started
    allowed = burst + rate * elapsed
    admitted = statuses.get(202, 0)
    assert i >= 2 * allowed, f"offered {i}, too few to test a limit of {allowed:.0f}"
    assert abs(admitted - allowed) <= 0.10 * allowed, (
        f"two replicas admitted {admitted} ({by_replica}); the shared limit allows {allowed:.1f} in {elapsed:.1f}s"
    )
    assert min(by_replica) > 0, by_replica  # both replicas admitted some: the bucket is shared, not one's alone


async def test_database_away_answers_503_retry_after_then_the_retry_is_accepted_once(
    make_settings, h, database_url: str
) -> None:
    """PostgreSQL reached through a proxy: cut (connections reset, new ones refused) → 503 problem+json with
    Retry-After, never 500; once it is back the same alert is accepted once and raised once."""
    port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    proxy = await _proxy_class()(port).start()
    try:
        settings = make_settings(database_url=database_url.replace(f":{port}/", f":{proxy.port}/"))
        async with h.started(settings) as client:
            partner, secret = await h.create_partner(client)
            device = await h.install_device(client, partner)
            ident = unique("cut")
            proxy.refuse = True
            proxy.cut()
            answers = []
            for _ in range(3):
                r = await _send(client, partner, secret, device, ident)
                answers.append(r.status_code)
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                assert int(r.headers["retry-after"]) >= 1
                assert r.json()["errors"][0]["field"] == "database"
            proxy.refuse = False
            deadline = time.monotonic() + 30
            while True:
                r = await _send(client, partner, secret, device, ident)
                if r.status_code != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert r.status_code == 202, r.text
            again = await _send(client, partner, secret, device, ident)
            assert again.status_code == 200, again.text
            assert again.json()["outcome"] == "duplicate"
    finally:
        await proxy.stop()
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM alerts WHERE identifier = $1", ident)
    finally:
        await conn.close()
    assert rows == 1


async def test_clock_skew_inside_the_window_is_accepted_outside_refused_saying_so(env) -> None:
    now = int(time.time())
    for offset in (-240, 240):  # a partner clock 4 minutes off either way: inside the 300 s window
        r = await _send(env.client, env.partner_id, env.secret, env.device_id, unique("skew"), timestamp=now + offset)
        assert r.status_code == 202, (offset, r.text)
    for offset, direction in ((-360, "behind"), (360, "ahead of")):  # 6 minutes off: refused, and why
        r = await _send(env.client, env.partner_id, env.secret, env.device_id, unique("skew"), timestamp=now + offset)
        assert r.status_code == 401, r.text
        error = r.json()["errors"][0]
        assert error["field"] == "X-LSG-Timestamp"
        assert error["code"] == "clock-skew"
        assert re.search(f"is 3(59|60|61) s {direction} the time of receipt", error["message"]), error  # int timestamps
        assert "clock" in error["message"]
