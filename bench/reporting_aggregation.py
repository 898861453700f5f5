"""Benchmark: events per second the reporting service aggregates end to end, next to a bare aiokafka consumer.

1. A private broker (127.0.0.1:29492, started here if needed) gets empty topics and is pre-filled with
   N mixed events of generated programme years (surveys, training, alerts, devices, deliverables, with
   duplicates and corrections), default 1 000 000.
2. A bare aiokafka consumer (fresh group) reads all of them: the ceiling rate.
3. `lsg-reporting consume` (a subprocess, fresh database and group) aggregates them: decode, inbox claim,
   facts, commit. The rate is distinct events / seconds from the first to the last committed batch
   (start-up excluded; also reported with start-up included).

    uv run python bench/reporting_aggregation.py --events 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "tests"))

from reporting_testkit import reset_topics

from lsg_local.kafka import KafkaProcess
from lsg_reporting.application.aggregation import CONSUMED_TOPICS
from lsg_shared.db import with_database
from lsg_testkit.programme import generate

PORT = 29492


async def prefill(bootstrap: str, target: int) -> tuple[int, int]:
    """N records: copies of one generated programme year, each copy with its own ids and entities.

    Building a million pydantic events would take longer than the benchmark itself, so one year is
    generated and its encoded records are copied with the run tag replaced (ids, keys, campaigns, devices
    and alerts all carry it): every copy is a distinct programme year for the consumer.
    """
    template = generate(seed=1, run="TMPL", respondents=(1000, 1000, 1000, 1000), alerts=1500)
    encoded = [(e.topic, *e.to_kafka()) for e in template.events]
    per_copy_unique = template.unique_events
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=50, max_batch_size=1024 * 1024
    )
    await producer.start()
    records = unique = copy = 0
    try:
        while records < target:
            copy += 1
            tag = f"C{copy:05d}".encode()
            batch = encoded[: target - records]
            futures = []
            for topic, key, value, headers in batch:
                futures.append(
                    await producer.send(
                        topic,
                        value.replace(b"TMPL", tag),
                        key=key.replace(b"TMPL", tag),
                        headers=[(k, v.encode().replace(b"TMPL", tag)) for k, v in headers.items()],
                    )
                )
            await asyncio.gather(*futures)
            records += len(batch)
            unique += per_copy_unique if len(batch) == len(encoded) else len({h["ce_id"] for *_, h in batch})
            if copy % 10 == 0:
                print(f"  prefilled {records}", file=sys.stderr, flush=True)
    finally:
        await producer.stop()
    return records, unique


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere or when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backends_cpu(conn: asyncpg.Connection, database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database`, except `conn`'s own."""
    pids = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database)
    return {r["pid"]: cpu_seconds(r["pid"]) for r in pids}


async def bare_rate(bootstrap: str, total: int) -> tuple[float, float, float]:
    consumer = AIOKafkaConsumer(
        *CONSUMED_TOPICS,
        bootstrap_servers=bootstrap,
        group_id=f"bare-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    seen = 0
    start = None
    cpu_start = 0.0
    try:
        while seen < total:
            got = await consumer.getmany(timeout_ms=1000, max_records=2000)
            if got and start is None:
                start = time.monotonic()
                cpu_start = time.process_time()
            seen += sum(len(v) for v in got.values())
        cpu = time.process_time() - cpu_start
        await consumer.commit()
    finally:
        await consumer.stop()
    elapsed = time.monotonic() - (start or time.monotonic())
    return seen / elapsed, elapsed, cpu / max(seen, 1)


async def service_rate(
    bootstrap: str, admin_dsn: str, unique: int, max_records: int | None, chunk_records: int | None
) -> dict[str, float]:
    name = f"lsg_reporting_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = with_database(admin_dsn, name)
    group = f"reporting-bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "LSG_DATABASE_URL": dsn,
        "LSG_KAFKA_BOOTSTRAP": bootstrap,
        "LSG_CONSUMER_GROUP": group,
        "LSG_LOG_LEVEL": "WARNING",
        "LSG_DB_POOL_MAX": "4",
    }
    if max_records is not None:  # otherwise the service's defaults
        env["LSG_CONSUMER_MAX_RECORDS"] = str(max_records)
    if chunk_records is not None:
        env["LSG_CONSUMER_CHUNK_RECORDS"] = str(chunk_records)
    log = open(Path(tempfile.gettempdir()) / "lsg-reporting-bench.log", "w")  # noqa: SIM115, ASYNC230
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: ASYNC220 (started once; the bench waits on the database, not on it)
        [sys.executable, "-m", "lsg_reporting", "consume"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    conn = None
    # CPU time spent by the consumer and by its PostgreSQL backends from its first committed batch to the
    # last: per event, a measure of the work that a loaded machine's scheduling does not distort.
    cpu_start = 0.0
    pg_start: dict[int, float] = {}
    counted_from = 0
    try:
        count = 0
        while count < unique:
            await asyncio.sleep(1)
            if proc.poll() is not None:
                raise RuntimeError("the consumer exited; see the bench log")
            try:
                conn = conn or await asyncpg.connect(dsn)
                count = await conn.fetchval("SELECT count(*) FROM lsg_inbox WHERE consumer = $1", group)
            except (asyncpg.UndefinedTableError, asyncpg.InvalidCatalogNameError):
                continue
            if count and not counted_from:
                counted_from = count
                cpu_start = cpu_seconds(proc.pid)
                pg_start = await backends_cpu(conn, name)
        cpu = cpu_seconds(proc.pid) - cpu_start
        assert conn is not None
        pg_cpu = sum(t - pg_start.get(pid, 0.0) for pid, t in (await backends_cpu(conn, name)).items())
        load = os.getloadavg()
        wall = time.monotonic() - started
        assert conn is not None
        first, last = await conn.fetchrow(
            "SELECT min(received_at), max(received_at) FROM lsg_inbox WHERE consumer = $1", group
        )
        facts = await conn.fetchval("SELECT count(*) FROM fact")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if conn is not None:
            await conn.close()
        admin = await asyncpg.connect(admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    span = (last - first).total_seconds()
    return {
        "rate": unique / span,
        "rate_with_startup": unique / wall,
        "seconds": span,
        "wall_seconds": wall,
        "facts": float(facts),
        "cpu_us_per_event": 1e6 * cpu / max(count - counted_from, 1),
        "postgres_cpu_us_per_event": 1e6 * pg_cpu / max(count - counted_from, 1),
        "load_average_at_end": load[0],
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--max-records", type=int, help="records per fetched batch (default: the service's)")
    parser.add_argument("--chunk-records", type=int, help="records per transaction (default: the service's)")
    parser.add_argument("--port", type=int, default=PORT, help="the private broker's port (+1: its controller)")
    parser.add_argument("--admin-dsn", default="postgresql://postgres:postgres@127.0.0.1:25432/postgres")
    parser.add_argument("--keep-topics", action="store_true", help="reuse the topics of the previous run")
    args = parser.parse_args()
    base = Path(tempfile.gettempdir()) / (
        "lsg-reporting-bench-kafka" if args.port == PORT else f"lsg-reporting-bench-kafka-{args.port}"
    )
    kafka = KafkaProcess(
        args.port,
        args.port + 1,
        base / "data",
        base / "logs",
        heap="1g",
        extra_properties={"group.initial.rebalance.delay.ms": "0"},
    )
    ours = kafka.start(timeout=180)
    try:
        t0 = time.monotonic()
        state = base / "prefill.json"
        if args.keep_topics and state.exists():
            records, unique = json.loads(state.read_text())
        else:
            await reset_topics(kafka.bootstrap)
            records, unique = await prefill(kafka.bootstrap, args.events)
            state.write_text(json.dumps([records, unique]))
        print(
            f"prefilled {records} records ({unique} distinct events) in {time.monotonic() - t0:.0f}s", file=sys.stderr
        )
        load_before = os.getloadavg()
        bare, bare_s, bare_cpu = await bare_rate(kafka.bootstrap, records)
        svc = await service_rate(kafka.bootstrap, args.admin_dsn, unique, args.max_records, args.chunk_records)
        result = {
            "records": records,
            "distinct_events": unique,
            "bare_consumer_events_per_s": round(bare),
            "bare_consumer_seconds": round(bare_s, 1),
            "reporting_events_per_s": round(svc["rate"]),
            "reporting_events_per_s_with_startup": round(svc["rate_with_startup"]),
            "reporting_seconds": round(svc["seconds"], 1),
            "facts": int(svc["facts"]),
            "ratio_to_bare": round(svc["rate"] / bare, 3),
            "bare_consumer_cpu_us_per_record": round(1e6 * bare_cpu, 1),
            "reporting_cpu_us_per_event": round(svc["cpu_us_per_event"], 1),
            "reporting_postgres_cpu_us_per_event": round(svc["postgres_cpu_us_per_event"], 1),
            "cpu_ratio_to_bare": round(1e6 * bare_cpu / svc["cpu_us_per_event"], 3),
            "max_records": args.max_records,
            "chunk_records": args.chunk_records,
            "cores": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_end_of_service_run": round(svc["load_average_at_end"], 2),
            "load_average": os.getloadavg(),
        }
        print(json.dumps(result, indent=2))
    finally:
        if ours:
            kafka.stop()


if __name__ == "__main__":
    asyncio.run(main())
