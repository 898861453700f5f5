"""Scenario 1: SIGKILL the reporting service again and again at random points under load: final figures,
inbox and emitted figures equal the oracle (nothing lost, nothing counted twice).

Each life of the service gets a new slice of the programme year to work through; it is killed either right
after a batch's database commit was seen (the window before its offset commit: the batch is redelivered and
the inbox must absorb it) or after a random pause (mid-batch, mid-transaction, between commits).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from faults_harness import (
    SCALE,
    assert_figures,
    assert_published,
    fresh_topics,
    oracle,
    produce,
    programme,
    record,
    rng,
    start_reporting,
    wait_caught_up,
    wait_inbox,
)

from lsg_local.testing import PrivateInfra

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.timeout(1500)
async def test_sigkill_reporting_under_load_equals_oracle(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    prog = programme("kill", seed=5)
    expected = oracle(prog)
    rep = await start_reporting(private, tmp_path, LSG_CONSUMER_MAX_RECORDS="100")
    random = rng(42)
    slices = SCALE.kills + 1
    size = -(-len(prog.events) // slices)
    chunks = [prog.events[i * size : (i + 1) * size] for i in range(slices)]
    seen_ids: set[tuple[str, str]] = set()
    kills: list[dict[str, object]] = []
    recover: list[float] = []
    killed_at: float | None = None
    for k in range(SCALE.kills):
        seen_ids.update((e.source, e.id) for e in chunks[k])
        before = await rep.inbox()
        await produce(private.kafka_bootstrap, chunks[k])
        # wait until this life makes progress (this is also the time to recover from the previous kill)
        deadline = time.monotonic() + 120
        while (now := await rep.inbox()) <= before:
            assert rep.service.alive(), rep.service.log_tail()
            assert time.monotonic() < deadline, f"no progress after restart {k}:\n{rep.service.log_tail()}"
            await asyncio.sleep(0.02)
        if killed_at is not None:
            recover.append(time.monotonic() - killed_at)
        if k % 2 == 0:
            mode = "after-db-commit"  # the next commit seen in the database: kill before its offset commit
            deadline = time.monotonic() + 10
            while await rep.inbox() == now and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        else:
            mode = "random"
            await asyncio.sleep(random.uniform(0.0, 0.6))
        rep.service.kill()
        killed_at = time.monotonic()
        applied = await rep.inbox()
        kills.append({"mode": mode, "applied": applied, "pending": len(seen_ids) - applied})
        rep.service.start()
    await produce(private.kafka_bootstrap, chunks[-1])
    await rep.service.wait_ready(120)
    await wait_inbox(rep, prog.unique_events, timeout=600)
    if killed_at is not None:
        recover.append(time.monotonic() - killed_at)
    await wait_caught_up(rep, 120)
    verdict = await assert_figures(rep, prog, expected)
    published = await assert_published(rep, expected)
    code, _ = rep.service.stop()
    assert len(kills) == SCALE.kills
    busy = [k for k in kills if int(k["pending"]) > 0]  # type: ignore[call-overload]
    assert len(busy) >= SCALE.kills // 2, kills  # most kills hit the service with work in hand
    record(
        "s1_sigkill",
        events=prog.unique_events,
        records=len(prog.events),
        kills=len(kills),
        kills_with_work_pending=len(busy),
        kill_modes={m: sum(1 for k in kills if k["mode"] == m) for m in ("after-db-commit", "random")},
        recover_s_max=round(max(recover), 1),
        recover_s_mean=round(sum(recover) / len(recover), 1),
        cells_checked=len(verdict.cells),
        indicator_updated_records=published,
        last_exit_code=code,
        seconds=round(time.monotonic() - started, 1),
    )
