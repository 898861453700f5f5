"""Scenario 2: SIGTERM under load (a rolling restart's pod stop), on the reporting service while it consumes a
programme year and takes HTTP writes (deliverables, published through its outbox). Each stop drains within
the grace period (no SIGKILL needed); no HTTP write acknowledged before the stop is lost, none counts twice;
the consumer commits its offsets again after each restart (no commit-failure loop); the final figures equal
the oracle plus the acknowledged writes."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from faults_harness import (
    EDITOR,
    SCALE,
    assert_figures,
    assert_published,
    fresh_topics,
    now_until,
    oracle,
    produce,
    programme,
    record,
    start_reporting,
    wait_caught_up,
    wait_inbox,
)

from lsg_events import topics
from lsg_local.testing import PrivateInfra, collect
from lsg_reporting.simulate import Truth

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
COMMIT_FAILURE = re.compile(r"CommitFailed|commit.*fail|fail.*commit", re.IGNORECASE)


@pytest.mark.timeout(900)
async def test_sigterm_under_load_drains_within_grace(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    prog = programme("term", seed=21)
    rep = await start_reporting(private, tmp_path, LSG_CONSUMER_MAX_RECORDS="200")
    acknowledged: dict[str, int] = {}
    refused = 0
    stop_writing = asyncio.Event()

    async def writer() -> None:
        """Deliverables, one after another; a write that fails (service stopping) is repeated, same id."""
        nonlocal refused
        i = 0
        async with httpx.AsyncClient(base_url=rep.service.url, timeout=10) as client:
            while not stop_writing.is_set():
                body = {
                    "deliverable_id": f"faults-term-{i}",
                    "kind": "brochure_lsg",
                    "quantity": 1 + i % 7,
                    "language": "lv",
                    "recorded_on": (date(2025, 6, 1) + timedelta(days=i % 150)).isoformat(),
                }
                try:
                    r = await client.post("/v1/deliverables", json=body, headers={"authorization": f"Bearer {EDITOR}"})
                except httpx.TransportError:
                    refused += 1
                    await asyncio.sleep(0.2)
                    continue
                if r.status_code in (200, 201):
                    acknowledged[body["deliverable_id"]] = body
                    i += 1
                else:
                    assert r.status_code == 503, r.text  # not ready yet: the same write is repeated
                    refused += 1
                    await asyncio.sleep(0.2)

    task = asyncio.create_task(writer())
    stops = []
    try:
        await produce(private.kafka_bootstrap, prog.events)
        for n in range(2):
            target = prog.unique_events * (n + 1) // 4
            deadline = time.monotonic() + 180
            while await rep.inbox() < target:
                assert time.monotonic() < deadline, rep.service.log_tail()
                await asyncio.sleep(0.1)
            before = len(acknowledged)
            code, took = await asyncio.to_thread(rep.service.stop, SCALE.grace_s)
            stops.append({"exit": code, "seconds": round(took, 1), "writes_before": before})
            assert code in (0, -15), f"stop {n}: exit {code} (killed after the {SCALE.grace_s}s grace period?)"
            assert took < SCALE.grace_s
            rep.service.start()
            await rep.service.wait_ready(120)
        await asyncio.sleep(2)
    finally:
        stop_writing.set()
        await task
    assert len(acknowledged) >= 5, acknowledged

    posted = list(acknowledged.values())
    extra = [
        Truth(
            code="SD.BROCHURE_LSG",
            time=datetime.combine(date.fromisoformat(b["recorded_on"]), datetime.min.time(), tzinfo=UTC),
            area=(None, None, None, None),
            num=b["quantity"],
            tag="lv",
        )
        for b in posted
    ]
    full = dataclasses.replace(prog, truth=[*prog.truth, *extra], unique_events=prog.unique_events + len(posted))
    await wait_inbox(rep, full.unique_events, timeout=600)
    await wait_caught_up(rep, 180)
    until = now_until()  # the HTTP writes' facts became known now, not in the generated year
    expected = oracle(full, until)
    await assert_figures(rep, full, expected, until)
    published = await assert_published(rep, expected)
    async with collect(rep.bootstrap, topics.REPORTING) as seen:

        def ours(c: object) -> list[str]:
            return [
                e.data.deliverable_id
                for e in seen.events("lv.lsg.deliverable.recorded.v1")
                if e.data.deliverable_id.startswith("faults-term")
            ]

        await seen.wait_for(lambda c: len(set(ours(c))) >= len(posted), 60, "every acknowledged write on the topic")
        await asyncio.sleep(2)
        on_topic = ours(seen)
    assert sorted(set(on_topic)) == sorted(acknowledged)
    duplicates_on_topic = len(on_topic) - len(set(on_topic))
    assert duplicates_on_topic == 0, "a graceful stop published an outbox row twice"
    failures = [line for line in rep.service.log_tail(10**7).splitlines() if COMMIT_FAILURE.search(line)]
    assert len(failures) <= 2 * len(stops), failures[:10]
    rep.service.stop()
    record(
        "s2_sigterm",
        events=prog.unique_events,
        http_writes_acknowledged=len(acknowledged),
        http_writes_repeated=refused,
        stops=stops,
        grace_s=SCALE.grace_s,
        commit_failure_lines=len(failures),
        indicator_updated_records=published,
        seconds=round(time.monotonic() - started, 1),
    )
