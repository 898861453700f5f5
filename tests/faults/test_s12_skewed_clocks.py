"""Scenario 12 (issue 29, its scenario 5): skewed clocks.

A partner's clock: a request signed 4 minutes off (either way) is accepted within the signature window (300 s);
6 minutes off is refused 401 with ``code: clock-skew`` and a message that says how far off, which way, and that
the sender's clock is the cause.

The service's clock: Extreme alerts (escalating every few seconds until acknowledged) are raised and escalate
once; the service is SIGKILLed and restarted with its clock 6 minutes behind, then SIGKILLed and restarted 6
minutes ahead, then back on time (``tests/faults/clockshift``: ``time.time`` and the service's ``now()`` moved,
PostgreSQL's clock not). No escalation step is ever published twice (each (alert, escalation count) once, the
counts contiguous), a clock behind fires nothing again, and a clock ahead makes each alert take exactly one step
(no burst of catch-up escalations for the deadlines it "missed").

What it also shows (recorded, not asserted away): a service clock behind delays escalations by its error and one
ahead fires them early, because deadlines are stamped and compared with the service's clock, not the database's.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alerts_faults import ESCALATED, Partner, escalation_steps, raised_by, start_alerts
from faults_harness import extended, record

from lsg_events import topics
from lsg_events.partner import signed_headers
from lsg_local.testing import PrivateInfra, collect
from lsg_testkit.alerts import cap_json

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, extended]
DEADLINE_S = 5.0
SUPERVISION_S = 0.5
SKEW_S = 360  # the service's clock moved 6 minutes
CLOCKSHIFT = str(Path(__file__).parent / "clockshift")
ALERTS = 3


async def _counts(dsn: str, ids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT alert_id::text AS id, escalation_count FROM alerts WHERE alert_id = ANY($1::uuid[])", ids
        )
    finally:
        await conn.close()
    return {r["id"]: r["escalation_count"] for r in rows}


async def _partner_skew(client: httpx.AsyncClient, partner: Partner) -> dict[str, Any]:
    """4 minutes off either way accepted, 6 minutes off refused with a reason naming the clock."""
    outcome: dict[str, Any] = {"refusals": []}
    for offset in (-240, 240):
        outcome[f"{offset:+d}s"] = await partner.deliver(client, f"skew{offset:+d}", clock_offset_s=offset)
    for offset in (-360, 360):
        body = cap_json(identifier=f"skew{offset:+d}", device_id=partner.device_id, status="Actual")
        headers = signed_headers(partner.secret, body, timestamp=int(time.time() + offset))
        r = await client.post(f"/v1/partners/{partner.partner_id}/alerts", content=body, headers=headers)
        outcome[f"{offset:+d}s"] = r.status_code
        outcome["refusals"].append(r.json()["errors"][0] if r.status_code == 401 else r.text)
    return outcome


@pytest.mark.timeout(600)
async def test_skewed_partner_and_service_clocks(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    service, dsn = await start_alerts(private, tmp_path, extreme_deadline_s=DEADLINE_S, supervision_s=SUPERVISION_S)
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        partner = await Partner.register(client, "clocks")
        skew = await _partner_skew(client, partner)
        for i in range(ALERTS):
            assert await partner.deliver(client, f"clock-extreme-{i}", "Extreme") == 202, partner.unexpected
    ids = [partner.accepted[f"clock-extreme-{i}"] for i in range(ALERTS)]
    deadline = time.monotonic() + DEADLINE_S + 15
    while min((await _counts(dsn, ids)).values()) < 1:
        assert time.monotonic() < deadline, await _counts(dsn, ids)
        await asyncio.sleep(0.3)
    at_first = await _counts(dsn, ids)

    async def restart(offset: int) -> float:
        service.kill()
        service.env.update(FAULTS_CLOCK_OFFSET_S=str(offset), PYTHONPATH=CLOCKSHIFT)
        service.start()
        return await service.wait_ready(120)

    # ---- 6 minutes behind: nothing fires again ----------------------------------------------------------------
    await restart(-SKEW_S)
    await asyncio.sleep(2 * DEADLINE_S)
    behind = await _counts(dsn, ids)
    # ---- 6 minutes ahead: overdue steps fire once, then one step per deadline (no catch-up burst) ---------------
    await restart(+SKEW_S)
    await asyncio.sleep(DEADLINE_S + 2)
    ahead = await _counts(dsn, ids)
    # ---- back on time ---------------------------------------------------------------------------------------------
    await restart(0)
    await asyncio.sleep(DEADLINE_S)
    final = await _counts(dsn, ids)
    async with collect(private.kafka_bootstrap, topics.ALERTS) as seen:
        total = sum(final.values())
        await seen.wait_for(
            lambda c: sum(escalation_steps(c, set(ids)).values()) >= total, 60, "every escalation published"
        )
        await asyncio.sleep(2)
        steps = escalation_steps(seen, set(ids))
        stamps = {
            (e.data.alert_id, e.data.escalation_count): e.data.escalated_at
            for e in seen.events(ESCALATED)
            if e.data.alert_id in set(ids)
        }
        raised = raised_by(seen, {partner.partner_id})
    service.stop()

    # the partner's clock
    assert skew["-240s"] == 202, skew
    assert skew["+240s"] == 202, skew
    assert skew["-360s"] == skew["+360s"] == 401, skew
    assert len(skew["refusals"]) == 2, skew
    for error, direction in zip(skew["refusals"], ("behind", "ahead of"), strict=True):
        assert error["field"] == "X-LSG-Timestamp", error
        assert error["code"] == "clock-skew", error
        assert re.search(f"is 3(59|60|61) s {direction} the time of receipt", error["message"]), error  # int timestamps
        assert "clock is off" in error["message"], error
    # the service's clock
    twice = [k for k, n in steps.items() if n > 1]
    assert twice == [], f"escalation steps published twice: {twice}"
    for a in ids:
        published = sorted(n for (alert, n) in steps if alert == a)
        assert published == list(range(1, final[a] + 1)), f"{a}: steps {published}, stored count {final[a]}"
    assert behind == at_first, f"escalated again with the clock behind: {at_first} -> {behind}"
    assert len({e.data.identifier for e in raised}) == len(raised)  # the alerts themselves raised once each
    gaps = []  # between consecutive steps stamped by the clock ahead (the same clock: their distance is real)
    for a in ids:
        ahead_steps = [stamps[(a, n)] for n in range(behind[a] + 1, ahead[a] + 1)]
        assert ahead_steps, f"{a}: no step with the clock ahead"
        gaps += [(b - x).total_seconds() for x, b in itertools.pairwise(ahead_steps)]
    assert all(g >= DEADLINE_S - SUPERVISION_S - 0.5 for g in gaps), f"a catch-up burst: steps {gaps} s apart"
    first_stamps = [stamps[(a, 1)] for a in ids]
    ahead_first = [stamps[(a, behind[a] + 1)] for a in ids]
    record(
        "s12_skewed_clocks",
        title="12. Skewed clocks: partner and service",
        partner={k: v for k, v in skew.items() if k != "refusals"},
        partner_refusal=skew["refusals"][0]["message"],
        signature_window_s=300,
        service_clock_moved_s=SKEW_S,
        escalation_deadline_s=DEADLINE_S,
        escalation_counts={
            name: sorted(counts.values())
            for name, counts in (("first", at_first), ("behind", behind), ("ahead", ahead), ("back_on_time", final))
        },
        steps_published=sum(steps.values()),
        steps_twice=len(twice),
        steps_apart_with_clock_ahead_s=sorted(round(g, 1) for g in gaps),
        ahead_first_step_stamped_after_first_by_s=round(
            min((b - x).total_seconds() for x, b in zip(first_stamps, ahead_first, strict=True)), 1
        ),
        steps_back_on_time_within_a_deadline=sum(final[a] - ahead[a] for a in ids),
        seconds=round(time.monotonic() - started, 1),
    )
