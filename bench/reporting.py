"""Scenarios 2, 3, 5 and 6: the reporting service, its naive peer, the rebuild and the footprint.

Every run gets a fresh database and consumer group, and reads the same pre-filled topics (the records the
ceiling's producer wrote). A consumer's progress is its group's committed offsets (read from Kafka, so the
measurement does not load PostgreSQL); the clock starts at the first inbox row's ``received_at`` (the start
of the first batch's transaction) and stops when the committed offsets cover the records: end to end,
start-up excluded (reported separately with it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import resource
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from bench.lib import (
    BENCH_DIR,
    BIN,
    CONSUMED_TOPICS,
    RssSampler,
    ServiceProcess,
    SuiteRecords,
    backend_pids,
    commit_at_end,
    committed_offsets,
    cpu_seconds,
    end_offsets,
    fresh_database,
    produce,
    reset_topics,
    rss_mb,
    schedstat,
    service_env,
    steal_ms,
)

LOGS = BENCH_DIR / "logs"
PREFILL_STATE = BENCH_DIR / "prefill.json"
GENERATOR = "lsg_testkit.programme.generate(seed=1, respondents=4x1000, alerts=1500) copies, v1"
PORTS = {"surveys": 18191, "training": 18192, "alerts": 18193, "reporting": 18194}


@dataclass
class Bench:
    """What the scenarios share within one `bench.run`."""

    bootstrap: str
    admin_dsn: str
    events: int
    _suite: SuiteRecords | None = None
    records: int = 0  # records on the consumed topics (duplicates included)
    unique: int = 0  # distinct events among them

    @property
    def suite(self) -> SuiteRecords:
        if self._suite is None:
            self._suite = SuiteRecords()
        return self._suite

    def prefilled(self, records: int) -> None:
        self.records, self.unique = records, self.suite.unique(records)
        PREFILL_STATE.parent.mkdir(parents=True, exist_ok=True)
        PREFILL_STATE.write_text(json.dumps({"generator": GENERATOR, "records": self.records, "unique": self.unique}))


async def ensure_prefilled(bench: Bench) -> None:
    """The consumed topics hold exactly `bench.events` generated records: reuse them, or refill (batched)."""
    if bench.records == bench.events:
        return
    with contextlib.suppress(OSError, ValueError, KeyError):
        state = json.loads(PREFILL_STATE.read_text())
        if state["generator"] == GENERATOR and state["records"] == bench.events:
            ends = await end_offsets(bench.bootstrap, CONSUMED_TOPICS)
            if sum(ends.values()) == bench.events:
                bench.records, bench.unique = state["records"], state["unique"]
                print(f"  reusing the pre-filled topics ({bench.records:,} records)", flush=True)
                return
    print(f"  pre-filling {bench.events:,} records (batched producer)", flush=True)
    await reset_topics(bench.bootstrap)
    bench.prefilled(await produce(bench.bootstrap, bench.suite.records(bench.events), batched=True))


# ---- measuring a consumer process -------------------------------------------------------------------------
async def measure_consumer(
    bench: Bench,
    label: str,
    argv: list[str],
    *,
    extra_env: dict[str, str] | None = None,
    target_records: int | None = None,
    time_box_s: float | None = None,
    timeout_s: float = 3600,
    stall_s: float = 180,
) -> dict[str, Any]:
    """Run a consumer process (fresh database and group) over the pre-filled topics until its committed
    offsets cover `target_records` (all by default) or `time_box_s` passed since its first record; fails
    when nothing is committed for `stall_s` (start-up included) or after `timeout_s`."""
    target = target_records or bench.records
    ends = await end_offsets(bench.bootstrap, CONSUMED_TOPICS)
    async with fresh_database(bench.admin_dsn, label) as dsn:
        group = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        env = service_env(
            LSG_DATABASE_URL=dsn, LSG_KAFKA_BOOTSTRAP=bench.bootstrap, LSG_CONSUMER_GROUP=group, **(extra_env or {})
        )
        svc = ServiceProcess(label, argv, env, LOGS / f"{label}.log")
        admin = AIOKafkaAdminClient(bootstrap_servers=bench.bootstrap)
        await admin.start()
        conn: asyncpg.Connection | None = None
        first: float | None = None
        done = 0
        database = dsn.rsplit("/", 1)[1]
        cpu0 = steal0 = 0.0
        sched0 = (0.0, 0.0)
        wall0 = time.time()
        pg0: dict[int, float] = {}
        await svc.start()
        launched = svc.started_at
        progress = (0, launched)  # (records committed, when that count was first seen)
        try:
            with RssSampler(lambda: svc.pid) as rss:
                while True:
                    await asyncio.sleep(0.25)
                    svc.check_alive()
                    now = time.time()
                    committed = await committed_offsets(admin, group)
                    done = sum(min(committed.get(tp, 0), end) for tp, end in ends.items())
                    if first is None and done > 0:
                        conn = await asyncpg.connect(dsn)
                        value = await conn.fetchval(
                            "SELECT extract(epoch FROM min(received_at)) FROM lsg_inbox WHERE consumer = $1", group
                        )
                        first = float(value) if value is not None else None
                        # CPU from here on (a figure a shared machine disturbs less than the rate)
                        cpu0, steal0, wall0 = cpu_seconds(svc.pid), steal_ms(), time.time()
                        sched0 = schedstat(svc.pid)
                        pg0 = {p: cpu_seconds(p, children=False) for p in await backend_pids(conn, database)}
                    if done >= target or (time_box_s and first and now - first >= time_box_s):
                        break
                    if done > progress[0]:
                        progress = (done, now)
                    if now - progress[1] > stall_s:
                        raise RuntimeError(f"{label}: stuck at {done} of {target} records for {stall_s:.0f} s")
                    if now - launched > timeout_s:
                        raise RuntimeError(f"{label}: {done} of {target} records after {timeout_s:.0f}s")
            rss_idle = rss.samples[0] if rss.samples else None
            rss_peak = rss.peak
            cpu = cpu_seconds(svc.pid) - cpu0
            wall = max(time.time() - wall0, 1e-9)
            steal = (steal_ms() - steal0) / wall
            sched1 = schedstat(svc.pid)
            on_cpu, runnable = (sched1[0] - sched0[0]) / wall, (sched1[1] - sched0[1]) / wall
            assert conn is not None
            pg_cpu = sum(cpu_seconds(p, children=False) - pg0.get(p, 0.0) for p in await backend_pids(conn, database))
        finally:
            await svc.stop()
            await admin.close()
        assert conn is not None
        assert first is not None
        try:
            inbox_rows = await conn.fetchval("SELECT count(*) FROM lsg_inbox WHERE consumer = $1", group)
            facts = await conn.fetchval("SELECT count(*) FROM fact")
        finally:
            await conn.close()
    seconds = now - first
    return {
        "records": done,
        "events_per_s": round(done / seconds),
        "distinct_events": inbox_rows,
        "distinct_events_per_s": round(inbox_rows / seconds),
        "seconds": round(seconds, 1),
        "startup_s": round(first - launched, 1),
        "events_per_s_with_startup": round(done / (now - launched)),
        "facts": facts,
        # CPU per record since the first inbox row: the service's process, the database's backends
        "cpu_us_per_record": round(cpu * 1e6 / max(done, 1), 1),
        "postgres_cpu_us_per_record": round(pg_cpu * 1e6 / max(done, 1), 1),
        "steal_ms_per_s": round(steal, 1),
        # the service's threads per second of the run: on a CPU, and runnable but waiting for one
        "on_cpu": round(on_cpu, 2),
        "waiting_for_cpu": round(runnable, 2),
        "rss_mb_start": round(rss_idle, 1) if rss_idle else None,
        "rss_mb_peak": rss_peak,
    }


def reporting_argv(port: int) -> list[str]:
    return [str(BIN / "lsg-reporting"), "serve", "--port", str(port)]


async def bare_baseline(bench: Bench) -> tuple[float, float, float]:
    """Records/s of a bare aiokafka consumer over the topics, its CPU µs per record, and the steal (ms/s)."""
    from bench.ceiling import aiokafka_consume

    cpu0, steal0 = time.process_time(), steal_ms()
    rate, seconds = await aiokafka_consume(bench.bootstrap, CONSUMED_TOPICS, bench.records)
    cpu = time.process_time() - cpu0
    return rate, round(cpu * 1e6 / max(bench.records, 1), 1), round((steal_ms() - steal0) / max(seconds, 1e-9), 1)


# ---- scenario 2 -------------------------------------------------------------------------------------------
async def scenario_reporting(args: argparse.Namespace, results: dict[str, Any]) -> None:
    bench: Bench = args.bench
    await ensure_prefilled(bench)
    baseline, bare_cpu, bare_steal = await bare_baseline(bench)
    print(
        f"  bare aiokafka consumer, same topics, just before: {baseline:,.0f} records/s, {bare_cpu} µs CPU per "
        f"record, steal {bare_steal} ms/s",
        flush=True,
    )
    overrides = dict(item.split("=", 1) for item in getattr(args, "reporting_env", []) or [])
    run = await measure_consumer(bench, "reporting", reporting_argv(PORTS["reporting"]), extra_env=overrides)
    if overrides:
        results["reporting_env"] = overrides
    results["reporting_events_per_s"] = run["events_per_s"]
    results["reporting_distinct_events_per_s"] = run["distinct_events_per_s"]
    results["reporting_baseline_consumer_events_per_s"] = round(baseline)
    results["reporting_ratio"] = round(run["events_per_s"] / baseline, 3)
    results.setdefault("bare_consumer_events_per_s", round(baseline))
    results["reporting_detail"] = {
        "records": run["records"],
        "distinct_events": run["distinct_events"],
        "facts": run["facts"],
        "seconds": run["seconds"],
        "startup_s": run["startup_s"],
        "events_per_s_with_startup": run["events_per_s_with_startup"],
        "cpu_us_per_record": run["cpu_us_per_record"],
        "postgres_cpu_us_per_record": run["postgres_cpu_us_per_record"],
        "steal_ms_per_s": run["steal_ms_per_s"],
        "on_cpu": run["on_cpu"],
        "waiting_for_cpu": run["waiting_for_cpu"],
        "baseline_cpu_us_per_record": bare_cpu,
        "baseline_steal_ms_per_s": bare_steal,
    }
    results["reporting_cpu_us_per_record"] = run["cpu_us_per_record"]
    results["reporting_steal_ms_per_s"] = run["steal_ms_per_s"]
    results.setdefault("rss_mb_load", {})["reporting"] = run["rss_mb_peak"]
    print(
        f"  reporting: {run['events_per_s']:,} records/s ({run['distinct_events']:,} distinct events, "
        f"{run['facts']:,} facts in {run['seconds']} s); ratio {results['reporting_ratio']}; "
        f"CPU per record: service {run['cpu_us_per_record']} µs, PostgreSQL {run['postgres_cpu_us_per_record']} µs; "
        f"steal {run['steal_ms_per_s']} ms/s; the service on a CPU {run['on_cpu']} and waiting for one "
        f"{run['waiting_for_cpu']} of the time; RSS peak {run['rss_mb_peak']} MiB",
        flush=True,
    )


# ---- scenario 6b: OpenTelemetry on vs off -----------------------------------------------------------------
class OtlpSink:
    """A local OTLP/HTTP endpoint that accepts and discards what the exporter sends (counts it)."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (ln.partition(":") for ln in head.decode("latin-1").split("\r\n")[1:] if ln)
                }
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    while True:
                        size = int((await reader.readline()).strip() or b"0", 16)
                        await reader.readexactly(size + 2)
                        self.bytes += size
                        if size == 0:
                            break
                else:
                    size = int(headers.get("content-length", "0"))
                    await reader.readexactly(size)
                    self.bytes += size
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def scenario_otel(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Reporting ingestion over the same first records, with the SDK disabled and with traces and metrics
    exported over OTLP/HTTP to a local sink (alternating off/on `args.otel_rounds` times)."""
    bench: Bench = args.bench
    await ensure_prefilled(bench)
    target = min(bench.records, args.otel_events or bench.records)
    sink = OtlpSink()
    endpoint = await sink.start()
    off: list[int] = []
    on: list[int] = []
    try:
        # off/on, then on/off (ABBA): a drift in the machine's load during the scenario cancels out.
        for round_ in range(args.otel_rounds):
            for mode in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                env = (
                    {"OTEL_SDK_DISABLED": "true"}
                    if mode == "off"
                    else {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "reporting-bench"}
                )
                run = await measure_consumer(
                    bench,
                    f"reporting_otel_{mode}",
                    reporting_argv(PORTS["reporting"]),
                    extra_env=env,
                    target_records=target,
                )
                (off if mode == "off" else on).append(run["events_per_s"])
                print(f"  OTel {mode}: {run['events_per_s']:,} records/s", flush=True)
    finally:
        await sink.stop()
    off_rate, on_rate = sum(off) / len(off), sum(on) / len(on)
    results["otel_overhead_pct"] = round(100 * (off_rate - on_rate) / off_rate, 1)
    results["otel_detail"] = {
        "records": target,
        "off_events_per_s": off,
        "on_events_per_s": on,
        "on": "default SDK set-up plus OTEL_EXPORTER_OTLP_ENDPOINT: BatchSpanProcessor + OTLP/HTTP to a local sink",
        "off": "OTEL_SDK_DISABLED=true",
        "sink_requests": sink.requests,
        "sink_bytes": sink.bytes,
    }
    print(f"  OTel overhead {results['otel_overhead_pct']} % (sink got {sink.requests} requests, {sink.bytes:,} bytes)")


# ---- scenario 3 -------------------------------------------------------------------------------------------
async def scenario_naive(args: argparse.Namespace, results: dict[str, Any]) -> None:
    bench: Bench = args.bench
    await ensure_prefilled(bench)
    run = await measure_consumer(
        bench, "naive", [sys.executable, "-m", "bench.naive"], time_box_s=args.naive_seconds, timeout_s=1800
    )
    results["naive_events_per_s"] = run["events_per_s"]
    results["naive_detail"] = {
        "records": run["records"],
        "seconds": run["seconds"],
        "time_box_s": args.naive_seconds,
        "distinct_events": run["distinct_events"],
        "facts": run["facts"],
    }
    if results.get("reporting_events_per_s"):
        results["naive_ratio"] = round(results["reporting_events_per_s"] / run["events_per_s"], 1)
    print(
        f"  naive peer: {run['events_per_s']:,} records/s over {run['records']:,} records ({run['seconds']} s)",
        flush=True,
    )


# ---- scenario 5 -------------------------------------------------------------------------------------------
async def scenario_rebuild(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """`lsg-reporting rebuild` into a fresh database from every record of the topics, then every figure
    computed once from the rebuilt facts (what the publisher does after a rebuild)."""
    from lsg_reporting.application.figures import FigurePublisher
    from lsg_reporting.domain import catalogue as catalogue_mod
    from lsg_shared import db

    bench: Bench = args.bench
    await ensure_prefilled(bench)
    ends = await end_offsets(bench.bootstrap, CONSUMED_TOPICS)
    async with fresh_database(bench.admin_dsn, "rebuild") as dsn:
        env = service_env(LSG_DATABASE_URL=dsn, LSG_KAFKA_BOOTSTRAP=bench.bootstrap)
        log = LOGS / "rebuild.log"
        svc = ServiceProcess("rebuild", [str(BIN / "lsg-reporting"), "rebuild"], env, log)
        started = time.perf_counter()
        children0, steal0 = resource.getrusage(resource.RUSAGE_CHILDREN), steal_ms()
        await svc.start()
        with RssSampler(lambda: svc.pid) as rss:
            assert svc.proc is not None
            code = await svc.proc.wait()
        seconds = time.perf_counter() - started
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rebuild_cpu = children1.ru_utime + children1.ru_stime - children0.ru_utime - children0.ru_stime
        rebuild_steal = (steal_ms() - steal0) / seconds
        output = log.read_text(errors="replace")
        if code != 0:
            raise RuntimeError(f"rebuild failed ({code}): {output[-3000:]}")
        match = re.search(r"(\d+) events, (\d+) facts", output)
        pool = await db.create_pool(dsn, min_size=1, max_size=2)
        try:
            publisher = FigurePublisher(catalogue_mod.load(None), source="/lsg/reporting")
            t0, steal1 = time.perf_counter(), steal_ms()
            figures = await publisher.publish_once(pool)
            figures_s = time.perf_counter() - t0
            figures_steal = (steal_ms() - steal1) / figures_s
        finally:
            await pool.close()
    timings = re.search(
        r"read and decoded in ([\d.]+) s, written in ([\d.]+) s, indexed and swapped in ([\d.]+) s", output
    )
    results["rebuild_s"] = round(seconds, 1)
    results["rebuild_figures_s"] = round(figures_s, 1)
    results["rebuild_all_in_s"] = round(seconds + figures_s, 1)
    results["rebuild_detail"] = {
        "records": sum(ends.values()),
        "events": int(match.group(1)) if match else None,
        "facts": int(match.group(2)) if match else None,
        "events_per_s": round(int(match.group(1)) / seconds) if match else None,
        "figures_s": round(figures_s, 1),
        "figures_published": figures,
        "rss_mb_peak": rss.peak,
        # the process's CPU (start-up, migrations and the rebuild), and the hypervisor's steal meanwhile
        "cpu_s": round(rebuild_cpu, 1),
        "steal_ms_per_s": round(rebuild_steal, 1),
        "figures_steal_ms_per_s": round(figures_steal, 1),
        # inside the rebuild (from its log): reading + decoding done, writes drained, index + swap done
        "phases_s": [float(x) for x in timings.groups()] if timings else None,
    }
    print(
        f"  rebuild: {seconds:.1f} s for {sum(ends.values()):,} records ({output.strip().splitlines()[-1]}); "
        f"every figure then computed in {figures_s:.1f} s ({figures:,} indicator.updated); all in "
        f"{seconds + figures_s:.1f} s; process CPU {rebuild_cpu:.1f} s; steal {rebuild_steal:.1f} ms/s",
        flush=True,
    )


# ---- scenario 6a: resident memory idle --------------------------------------------------------------------
async def scenario_footprint(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Each service started as operations start it (`lsg-<svc> serve`, fresh database, the bench broker),
    ready, then left idle; resident memory averaged over the last seconds. The reporting and alerts
    consumer groups start at the topics' ends, so "idle" means no backlog."""
    from cryptography.fernet import Fernet

    bench: Bench = args.bench
    reporting_group = f"bench-idle-{uuid.uuid4().hex[:8]}"
    partner_group = f"bench-idle-partner-{uuid.uuid4().hex[:8]}"
    from lsg_events import topics

    await commit_at_end(bench.bootstrap, reporting_group, CONSUMED_TOPICS)
    await commit_at_end(bench.bootstrap, partner_group, [topics.PARTNER_INPUT])
    extra = {
        "reporting": {"LSG_CONSUMER_GROUP": reporting_group},
        "alerts": {"LSG_ALERTS_SECRETS_KEY": Fernet.generate_key().decode(), "LSG_PARTNER_GROUP_ID": partner_group},
    }
    idle: dict[str, float] = {}
    async with contextlib.AsyncExitStack() as stack:
        services = []
        for name, port in PORTS.items():
            dsn = await stack.enter_async_context(fresh_database(bench.admin_dsn, f"idle_{name}"))
            env = service_env(LSG_DATABASE_URL=dsn, LSG_KAFKA_BOOTSTRAP=bench.bootstrap, **extra.get(name, {}))
            svc = ServiceProcess(
                name, [str(BIN / f"lsg-{name}"), "serve", "--port", str(port)], env, LOGS / f"idle-{name}.log"
            )
            services.append((name, port, svc))
            stack.push_async_callback(svc.stop)
            await svc.start()
        for _name, port, svc in services:
            await svc.wait_ready(f"http://127.0.0.1:{port}/health/ready")
        await asyncio.sleep(args.idle_seconds)
        samples: dict[str, list[float]] = {name: [] for name, _, _ in services}
        for _ in range(5):
            for name, _, svc in services:
                if svc.pid:
                    samples[name].append(rss_mb(svc.pid))
            await asyncio.sleep(1)
        idle = {name: round(sum(v) / len(v), 1) for name, v in samples.items() if v}
    results["rss_mb"] = idle
    print("  idle RSS (MiB): " + ", ".join(f"{k} {v}" for k, v in idle.items()), flush=True)


SCENARIOS = {
    "reporting": scenario_reporting,
    "otel": scenario_otel,
    "naive": scenario_naive,
    "rebuild": scenario_rebuild,
    "footprint": scenario_footprint,
}
