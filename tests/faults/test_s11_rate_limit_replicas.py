"""Scenario 11 (issue 29, its scenario 4): one partner rate limit across two alerts replicas on one database.

Two ``lsg-alerts serve`` processes share one database (and the partner consumer group), as two pods of the
chart do. Partner A floods both at once, open loop, at about four times its configured rate
(``LSG_PARTNER_RATE_PER_S``/``LSG_PARTNER_RATE_BURST``, the same on both), over keep-alive connections split
between them. Before issue 29 each replica kept its own bucket in memory and the two admitted twice the rate.

Asserted: together the replicas admit the configured rate, burst + rate x duration, within 10 %; both admitted
some (the bucket is shared, not one replica's); every refusal is 429 problem+json with Retry-After; every
accepted alert is raised exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from alerts_faults import Partner, once_each, raised_by, raised_records, start_alerts
from faults_harness import SCALE, extended, record

from lsg_events import topics
from lsg_events.partner import signed_headers
from lsg_local.testing import PrivateInfra, RawHttp, collect, unique
from lsg_testkit.alerts import cap_json

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, extended]
# (rate per s, burst, seconds): short 25/s for 8 s; full 50/s, burst 200, for 30 s (the defaults' rate)
LIMITS = {"short": (25.0, 50, 8.0), "full": (50.0, 200, 30.0)}
RATE, BURST, SECONDS = LIMITS[SCALE.name]
OFFERED = 4  # times the rate
CONNECTIONS = 16  # per replica


@pytest.mark.timeout(600)
async def test_two_replicas_hold_one_partner_limit(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    env = {"LSG_PARTNER_RATE_PER_S": str(RATE), "LSG_PARTNER_RATE_BURST": str(BURST)}
    group = unique("alerts-partner-input")
    one, dsn = await start_alerts(private, tmp_path, LSG_PARTNER_GROUP_ID=group, **env)
    two, _ = await start_alerts(private, tmp_path, dsn=dsn, LSG_PARTNER_GROUP_ID=group, **env)
    async with httpx.AsyncClient(base_url=one.url, timeout=30) as client:
        partner = await Partner.register(client, "replicas")
    statuses: list[Counter[int]] = [Counter(), Counter()]
    accepted: dict[str, str] = {}
    bad_429: list[str] = []
    errors: list[str] = []
    total = int(RATE * SECONDS * OFFERED)
    t0 = time.monotonic() + 0.5
    indexes = iter(range(total))
    first_last = [0.0, 0.0]

    async def worker(replica: int) -> None:
        conn = RawHttp("127.0.0.1", (one, two)[replica].port)
        try:
            for i in indexes:
                due = t0 + i * SECONDS / total
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                ident = f"replicas-{i}"
                body = cap_json(identifier=ident, device_id=partner.device_id, status="Actual", severity="Minor")
                first_last[0] = first_last[0] or time.monotonic()
                try:
                    r = await conn.post(
                        f"/v1/partners/{partner.partner_id}/alerts",
                        content=body,
                        headers=signed_headers(partner.secret, body),
                    )
                except (OSError, asyncio.IncompleteReadError) as exc:
                    errors.append(f"{ident}: {type(exc).__name__}")
                    await conn.close()
                    conn = RawHttp("127.0.0.1", (one, two)[replica].port)
                    continue
                first_last[1] = time.monotonic()
                statuses[replica][r.status_code] += 1
                if r.status_code == 202:
                    accepted[ident] = r.json()["alert_id"]
                elif r.status_code == 429:
                    problem = r.headers.get("content-type", "").startswith("application/problem+json")
                    if not problem or not r.headers.get("retry-after", "").isdigit():
                        bad_429.append(f"{r.headers} {r.text[:200]}")
                else:
                    errors.append(f"{ident}: {r.status_code} {r.text[:200]}")
        finally:
            await conn.close()

    await asyncio.gather(*(worker(w % 2) for w in range(2 * CONNECTIONS)))
    flood_s = first_last[1] - first_last[0]
    allowed = BURST + RATE * flood_s
    admitted = [s[202] for s in statuses]
    async with collect(private.kafka_bootstrap, topics.ALERTS) as seen:
        keys = {(partner.partner_id, ident) for ident in accepted}
        await seen.wait_for(
            lambda c: {(e.data.partner_id, e.data.identifier) for e in raised_by(c, {partner.partner_id})} >= keys,
            120,
            "every accepted alert raised",
        )
        await asyncio.sleep(2)
        verdict = once_each(raised_records(seen, {partner.partner_id}), keys)
    one.stop()
    two.stop()
    assert errors == [], errors[:5]
    assert bad_429 == [], bad_429[:3]
    assert min(admitted) > 0, f"one replica admitted nothing: {admitted}"
    assert abs(sum(admitted) - allowed) <= 0.10 * allowed, (
        f"two replicas admitted {sum(admitted)} ({admitted}); the partner's limit allows {allowed:.0f} "
        f"(burst {BURST} + {RATE}/s x {flood_s:.1f} s)"
    )
    assert (verdict["missing"], verdict["extra"], verdict["duplicates"]) == (0, 0, 0), verdict
    assert verdict["redelivered"] <= 500, verdict  # the same events again: at most one relay batch
    record(
        "s11_rate_limit_replicas",
        title="11. One partner rate limit across two alerts replicas",
        replicas=2,
        limit=f"{RATE}/s, burst {BURST}",
        offered=total,
        offered_per_s=round(total / flood_s, 1),
        flood_s=round(flood_s, 1),
        allowed=round(allowed, 1),
        admitted=sum(admitted),
        admitted_by_replica=admitted,
        off_by_pct=round(100 * (sum(admitted) - allowed) / allowed, 1),
        refused_429=sum(s[429] for s in statuses),
        **verdict,
        seconds=round(time.monotonic() - started, 1),
    )
