"""Scenario 6: a duplicate and reorder storm (every event delivered twice, the whole stream shuffled) and
scenario 7: a full replay (the reporting consumer group reset to the beginning of every topic). Either way the
figures, the inbox and the emitted figures stay what the oracle says, and a replay emits nothing new.

Any order is an allowed one for the reporting aggregate: corrections are ordered by their own timestamps and
priorities, not by arrival (the generator already shuffles the year), so the storm shuffles across keys too.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from faults_harness import (
    assert_figures,
    assert_published,
    consumed_partitions,
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

from lsg_local.testing import PrivateInfra, committed_offsets, metric_value, reset_group_offsets

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.timeout(900)
async def test_duplicate_and_reorder_storm_then_full_replay(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    prog = programme("storm", seed=9)
    expected = oracle(prog)
    storm = [*prog.events, *prog.events]
    rng(7).shuffle(storm)
    rep = await start_reporting(private, tmp_path)
    await produce(private.kafka_bootstrap, storm)
    took = await wait_inbox(rep, prog.unique_events, timeout=600)
    await wait_caught_up(rep, 120)
    verdict = await assert_figures(rep, prog, expected)
    published = await assert_published(rep, expected)
    m = await rep.service.metrics()
    duplicates = metric_value(m, "lsg_events_consumed_total", consumer=rep.group, outcome="duplicate")
    processed = metric_value(m, "lsg_events_consumed_total", consumer=rep.group, outcome="processed")
    assert processed == prog.unique_events
    assert duplicates == len(storm) - prog.unique_events  # every extra copy recognised as one
    record(
        "s6_duplicate_storm",
        events=prog.unique_events,
        records=len(storm),
        duplicates_recognised=int(duplicates),
        seconds_to_apply=round(took, 1),
        cells_checked=len(verdict.cells),
        indicator_updated_records=published,
        seconds=round(time.monotonic() - started, 1),
    )

    # ---- scenario 7: stop, reset the group to the beginning, start again ---------------------------------------
    started = time.monotonic()
    rep.service.stop()
    parts = consumed_partitions()
    await reset_group_offsets(private.kafka_bootstrap, rep.group, parts)
    reset = await committed_offsets(private.kafka_bootstrap, rep.group, parts)
    assert all(v == 0 for v in reset.values()), reset
    rep.service.start()
    await rep.service.wait_ready(120)
    replay_took = await wait_caught_up(rep, 600)
    m = await rep.service.metrics()
    again = metric_value(m, "lsg_events_consumed_total", consumer=rep.group, outcome="duplicate")
    fresh = metric_value(m, "lsg_events_consumed_total", consumer=rep.group, outcome="processed")
    assert again == len(storm)  # every record read again (not vacuous) ...
    assert fresh == 0  # ... and none applied again
    replayed = await assert_figures(rep, prog, expected)
    assert replayed.cells == verdict.cells
    after = await assert_published(rep, expected)
    assert after == published, "a replay must not emit indicator.updated"
    rep.service.stop()
    record(
        "s7_full_replay",
        events=prog.unique_events,
        records_replayed=int(again),
        applied_again=int(fresh),
        seconds_to_replay=round(replay_took, 1),
        indicator_updated_before=published,
        indicator_updated_after=after,
        seconds=round(time.monotonic() - started, 1),
    )
