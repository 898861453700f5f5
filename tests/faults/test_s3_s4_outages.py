"""Scenario 3: the Kafka broker stopped under load and started again; scenario 4: PostgreSQL stopped under
load, then the network to it cut (through the test's TCP proxy) while the server runs. The reporting service
is never restarted: it reports not-ready, then recovers by itself; the outbox holds what was written during
the broker's absence and delivers it after; offsets never pass an event that is not in the database; the
final figures equal the oracle."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faults_harness import (
    EDITOR,
    SCALE,
    OutboxStalled,
    Reporting,
    assert_figures,
    assert_published,
    assert_year_with_deliverables,
    consumed_partitions,
    fresh_topics,
    oracle,
    produce,
    programme,
    record,
    start_reporting,
    wait_caught_up,
    wait_inbox,
)
from proxy import TcpProxy

from lsg_events import EVENT_TYPES, topics
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_local.testing import PrivateInfra, collect, committed_offsets
from lsg_testkit.tokens import bearer

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


async def _progress(rep: Reporting, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while await rep.inbox() < at_least:
        assert rep.service.alive(), rep.service.log_tail()
        assert time.monotonic() < deadline, f"no progress to {at_least}:\n{rep.service.log_tail()}"
        await asyncio.sleep(0.05)


async def _outage(rep: Reporting, seconds: float, probe: float = 0.5) -> tuple[float | None, list[dict]]:
    """Watch the service for `seconds`: when it first reports not-ready, and the committed offsets."""
    started = time.monotonic()
    not_ready_after: float | None = None
    samples = []
    parts = consumed_partitions()
    while time.monotonic() - started < seconds:
        if not_ready_after is None and not await rep.service.is_ready():
            not_ready_after = time.monotonic() - started
        try:
            offsets = await asyncio.wait_for(committed_offsets(rep.bootstrap, rep.group, parts), 3)
            samples.append({"t": time.monotonic() - started, "offsets": offsets})
        except Exception:  # noqa: S110 (the broker is what is away)
            pass
        await asyncio.sleep(probe)
    return not_ready_after, samples


async def _recovered(rep: Reporting, timeout: float = 180) -> float:
    started = time.monotonic()
    while not await rep.service.is_ready():
        assert rep.service.alive(), rep.service.log_tail()
        assert time.monotonic() - started < timeout, f"not ready {timeout}s after the outage:\n{rep.service.log_tail()}"
        await asyncio.sleep(0.3)
    return time.monotonic() - started


@pytest.mark.timeout(900)
async def test_kafka_outage_outbox_holds_and_consumers_resume(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    prog = programme("kafka", seed=13)
    half = len(prog.events) // 2
    rep = await start_reporting(private, tmp_path)
    await produce(private.kafka_bootstrap, prog.events[:half])
    await _progress(rep, prog.unique_events // 6)

    await asyncio.to_thread(private.kafka.stop, 30)
    stopped = time.monotonic()
    # HTTP writes during the outage land in the outbox
    posted = []
    async with httpx.AsyncClient(base_url=rep.service.url, timeout=30) as client:
        for i, qty in enumerate((11, 13, 17)):
            body = {
                "deliverable_id": f"faults-kafka-{i}",
                "kind": "brochure_lsg",
                "quantity": qty,
                "language": "lv",
                "recorded_on": f"2025-11-{10 + i:02d}",
            }
            r = await client.post("/v1/deliverables", json=body, headers=bearer(EDITOR))
            assert r.status_code == 201, r.text
            posted.append(body)
    conn = await asyncpg.connect(rep.dsn)
    try:
        held = await conn.fetchval(
            "SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL AND event_type LIKE '%deliverable%'"
        )
    finally:
        await conn.close()
    assert held == len(posted), "the outbox holds the deliverables while the broker is away"
    not_ready_after, _ = await _outage(rep, max(1.0, SCALE.outage_s - (time.monotonic() - stopped)))
    assert not_ready_after is not None, "the service never reported not-ready while Kafka was down"
    await asyncio.to_thread(private.kafka.start, 180)
    outage = time.monotonic() - stopped
    ready_s = await _recovered(rep)
    await produce(private.kafka_bootstrap, prog.events[half:])

    # the oracle plus the deliverables recorded during the outage
    full, published = await assert_year_with_deliverables(rep, prog, posted)
    async with collect(rep.bootstrap, topics.REPORTING) as seen:

        def ours(c: object) -> list:
            return [e for e in seen.events() if getattr(e.data, "deliverable_id", "").startswith("faults-kafka")]

        await seen.wait_for(lambda c: len(ours(c)) >= len(posted), 60, "the deliverables on the topic")
        await asyncio.sleep(2)
        ours = ours(seen)
    assert sorted(e.data.deliverable_id for e in ours) == [b["deliverable_id"] for b in posted]  # once each
    assert rep.service.starts == 1, "recovered without a restart"
    assert rep.service.alive()
    rep.service.stop()
    record(
        "s3_kafka_outage",
        events=full.unique_events,
        outage_s=round(outage, 1),
        not_ready_after_s=round(not_ready_after, 1),
        ready_again_after_restart_s=round(ready_s, 1),
        outbox_held=held,
        indicator_updated_records=published,
        service_restarts=rep.service.starts - 1,
        seconds=round(time.monotonic() - started, 1),
    )


async def _records_below(bootstrap: str, limits: dict[tuple[str, int], int | None]) -> list[tuple[str, str]]:
    """(source, id) of every decodable event below the given offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out = []
    try:
        for (topic, partition), limit in limits.items():
            if not limit:
                continue
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while await consumer.position(tp) < limit:
                batch = await consumer.getmany(tp, timeout_ms=2000)
                for msg in batch.get(tp, []):
                    if msg.offset >= limit:
                        break
                    try:
                        e = from_kafka(msg.value, msg.headers, EVENT_TYPES)
                        out.append((e.source, e.id))
                    except PoisonMessage:
                        pass
    finally:
        await consumer.stop()
    return out


async def _check_below(rep: Reporting, limits: dict[tuple[str, int], int | None]) -> int:
    below = set(await _records_below(rep.bootstrap, limits))
    conn = await asyncpg.connect(rep.dsn)
    try:
        rows = await conn.fetch("SELECT source, event_id FROM lsg_inbox WHERE consumer = $1", rep.group)
    finally:
        await conn.close()
    applied = {(r["source"], r["event_id"]) for r in rows}
    missing = below - applied
    assert not missing, f"offsets were committed past {len(missing)} events not in the database: {sorted(missing)[:5]}"
    return len(below)


def _moves(samples: list[dict], settle_s: float) -> int:
    """How often the committed offsets moved after the first `settle_s` seconds of an outage."""
    later = [s["offsets"] for s in samples if s["t"] >= settle_s]
    return sum(1 for a, b in itertools.pairwise(later) if a != b)


@pytest.mark.timeout(900)
async def test_postgres_outage_and_partition_offsets_hold(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    prog = programme("pg", seed=17)
    expected = oracle(prog)
    # a slow network to the database under load (10 ms on every chunk each way), until the outage
    proxy = await TcpProxy(private.postgres.port, latency_s=0.01).start()
    try:
        rep = await start_reporting(private, tmp_path, db_port=proxy.port, LSG_CONSUMER_MAX_RECORDS="200")
        assert f":{proxy.port}/" in rep.service.env["LSG_DATABASE_URL"]
        await produce(private.kafka_bootstrap, prog.events)
        await _progress(rep, prog.unique_events // 8)
        proxy.latency_s = 0.0

        # ---- A: the server stops ----------------------------------------------------------------------------------
        await asyncio.to_thread(private.postgres.stop, 30)
        stopped = time.monotonic()
        not_ready_a, samples_a = await _outage(rep, SCALE.outage_s)
        limits_a = samples_a[-1]["offsets"]
        await asyncio.to_thread(private.postgres.start, 120)
        outage_a = time.monotonic() - stopped
        ready_a = await _recovered(rep)
        assert not_ready_a is not None, "not-ready never reported while PostgreSQL was down"
        assert _moves(samples_a, 3.0) == 0, "offsets moved while nothing could be stored"
        await _progress(rep, min(prog.unique_events, (await rep.inbox()) + 1))

        # ---- B: the network to it is cut (connections reset, new ones refused) ---------------------------------
        proxy.refuse = True
        cut_at = time.monotonic()
        cut = proxy.cut()
        not_ready_b, samples_b = await _outage(rep, max(5.0, SCALE.outage_s / 2))
        limits_b = samples_b[-1]["offsets"]
        proxy.refuse = False
        outage_b = time.monotonic() - cut_at
        ready_b = await _recovered(rep)
        assert not_ready_b is not None, "not-ready never reported while the network was cut"
        assert _moves(samples_b, 3.0) == 0, "offsets moved while the database was unreachable"

        await wait_inbox(rep, prog.unique_events, timeout=600)
        await wait_caught_up(rep, 180)
        await assert_figures(rep, prog, expected)
        await _check_below(rep, limits_a)
        checked_b = await _check_below(rep, limits_b)
        assert checked_b > 0
        assert rep.service.starts == 1, "recovered without a restart"
        assert rep.service.alive()
        figures = {
            "events": prog.unique_events,
            "server_stopped_s": round(outage_a, 1),
            "not_ready_after_stop_s": round(not_ready_a, 1),
            "ready_again_after_start_s": round(ready_a, 1),
            "network_cut_s": round(outage_b, 1),
            "connections_cut": cut,
            "not_ready_after_cut_s": round(not_ready_b, 1),
            "ready_again_after_cut_s": round(ready_b, 1),
            "events_below_committed_offsets_checked": checked_b,
            "service_restarts_after_outage": 0,
        }
        try:
            # a healthy relay publishes within seconds of the last event: 45 s is generous
            figures["indicator_updated_records"] = await assert_published(rep, expected, timeout=45)
        except OutboxStalled as exc:
            figures["emitted_figures"] = f"FAILED: {exc}"
            raise
        finally:
            record("s4_postgres_outage", **figures, seconds=round(time.monotonic() - started, 1))
        rep.service.stop()
    finally:
        await proxy.stop()
