"""Benchmark: latency from a signed HTTP alert to ``alert.raised`` read by a Kafka consumer.

Starts the alerts service as a real process (uvicorn, its own fresh database, the local Kafka), registers
a partner and an installed device, then sends signed CAP alerts at a fixed rate (open loop: each request
is scheduled at t0 + i/rate whether or not earlier ones have answered) while a plain aiokafka consumer
reads ``lsg.alerts.events.v1``. For each alert it records the time the request was scheduled (latency
counts any queueing in the client too: no coordinated omission), the time the 202 came back, and the time
the consumer read the matching ``alert.raised``.

    uv run python bench/alerts_latency.py --rate 200 --duration 60

Prints a JSON summary (p50/p95/p99/max in milliseconds). Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop
from cryptography.fernet import Fernet

from lsg_events import topics
from lsg_events.partner import signed_headers
from lsg_shared.kafka import ensure_topics
from lsg_shared.settings import KafkaSettings
from lsg_testkit.alerts import cap_json, cap_xml, settlement_place
from lsg_testkit.kafka import skip_to_end
from lsg_testkit.tokens import api_tokens, bearer, grant

ADMIN = "bench-admin-" + uuid.uuid4().hex


def group_cpu_seconds(*pgids: int) -> float:
    """User + system CPU seconds of every live process in the services' process groups (workers too)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) in pgids:  # field 5 (pgrp), counted after the command name
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def reference_seconds() -> float:
    """Seconds one core takes for a fixed piece of pure-Python work (best of three).

    The machine is a shared VM whose speed drifts by up to ~2x within an hour; printed next to the
    latencies so that runs can be compared (0.65-0.70 s is this machine at its usual speed)."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        sum(i * i for i in range(10**7))
        best = min(best, time.perf_counter() - t)
    return round(best, 3)


class MachineProbe:
    """What the shared VM did to the run, sampled every 100 ms: stalls the service cannot cause or cure.

    ``/proc/pressure`` (PSI) gives the time some task waited for I/O or for a CPU, ``/proc/stat`` the time
    the hypervisor gave the VM's cores to someone else (steal). The worst 100 ms windows say whether a run's
    tail was one disturbance (a disk stall holding every commit) or spread out (saturation)."""

    def __init__(self) -> None:
        self.windows: list[tuple[float, dict[str, float]]] = []

    @staticmethod
    def read() -> dict[str, float]:
        out: dict[str, float] = {}
        for pressure in ("cpu", "io"):
            with contextlib.suppress(OSError), open(f"/proc/pressure/{pressure}") as f:
                for line in f:
                    kind, *fields = line.split()
                    out[f"{pressure}_{kind}_ms"] = int(fields[-1].split("=")[1]) / 1000  # total=<us>
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open("/proc/stat") as f:
                cpu = f.readline().split()
            out["steal_ms"] = int(cpu[8]) * 1000 / os.sysconf("SC_CLK_TCK")
        return out

    async def run(self, start: float) -> None:
        last = self.read()
        while True:
            await asyncio.sleep(0.1)
            now = self.read()
            self.windows.append((time.perf_counter() - start, {k: now[k] - last.get(k, now[k]) for k in now}))
            last = now

    def summary(self, duration: float) -> dict[str, Any]:
        if not self.windows:
            return {"available": False}
        keys = self.windows[0][1].keys()
        totals = {k: sum(w[k] for _, w in self.windows) for k in keys}
        worst_io = sorted(self.windows, key=lambda tw: tw[1].get("io_full_ms", 0), reverse=True)[:3]
        return {
            "available": True,
            # ms per second of run: how much of the time some task (or every task: "full") was stalled
            **{f"{k[:-3]}_ms_per_s": round(v / max(duration, 1e-9), 1) for k, v in totals.items()},
            "worst_io_full_100ms": [(round(t, 1), round(w.get("io_full_ms", 0), 1)) for t, w in worst_io],
        }


def worst_second(sent: dict[str, tuple[float, float]], received: dict[str, float], start: float) -> dict[str, Any]:
    """The one-second window with the slowest alert: where in the run the tail came from."""
    by_second: dict[int, float] = {}
    for a, (t0, _t1) in sent.items():
        if a in received:
            second = int(t0 - start)
            by_second[second] = max(by_second.get(second, 0.0), received[a] - t0)
    if not by_second:
        return {}
    second, worst = max(by_second.items(), key=lambda kv: kv[1])
    slow = sum(1 for v in by_second.values() if v > 0.1)
    return {"at_s": second, "max_ms": round(worst * 1000, 1), "seconds_with_an_alert_over_100ms": slow}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


RAISED = b"lv.lsg.alert.raised.v1"


def read_alerts(bootstrap: str, topic: str, pipe: Connection) -> None:
    """The consumer that times ``alert.raised``, in a process of its own (librdkafka's C client).

    In the load generator's event loop it shared one interpreter with 200 requests/s and stamped records only
    when that loop got round to them; with aiokafka it also cost the machine a quarter of a core that the
    service under test competes for. A partner's consumer runs elsewhere in production. ``perf_counter`` is
    CLOCK_MONOTONIC, one clock for every process on the machine, so both sides' times compare directly.

    Protocol on ``pipe``: sends "ready" once positioned at the partitions' ends; receives the set of alert ids
    to wait for; sends back ({alert_id: read time}, this process's CPU seconds) once all were read or after 30 s.
    """
    from confluent_kafka import Consumer
    from confluent_kafka import TopicPartition as Partition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            # A long poll, answered by the broker as soon as a record arrives (fetch.min.bytes is 1).
            "fetch.wait.max.ms": 500,
        }
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    # Explicit end offsets, resolved before "ready": a lazily resolved "latest" could skip the first records.
    ends = [
        Partition(topic, p, consumer.get_watermark_offsets(Partition(topic, p), timeout=10)[1])
        for p in metadata.partitions
    ]
    consumer.assign(ends)
    # As in the load generator: no collection of this process's heap pauses the reading (see `measure`).
    gc.collect()
    gc.freeze()
    gc.disable()
    pipe.send("ready")
    received: dict[str, float] = {}
    expected: set[str] | None = None
    deadline = float("inf")
    try:
        while expected is None or (time.monotonic() < deadline and not expected <= received.keys()):
            # poll returns as soon as a record is there (consume would wait for its whole batch or timeout);
            # what arrived with it is taken without waiting.
            first = consumer.poll(0.05)
            now = time.perf_counter()
            records = [first, *consumer.consume(num_messages=1000, timeout=0)] if first is not None else []
            for rec in records:
                value = rec.value()
                if rec.error() is None and value and dict(rec.headers() or ()).get("ce_type") == RAISED:
                    received.setdefault(json.loads(value)["alert_id"], now)
            if expected is None and pipe.poll():
                expected = pipe.recv()
                deadline = time.monotonic() + 30
    finally:
        consumer.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send((received, usage.ru_utime + usage.ru_stime))


async def wait_ready(base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise RuntimeError("the alerts service did not become ready")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db_name = f"lsg_alerts_bench_{uuid.uuid4().hex[:8]}"
    group = f"alerts-bench-{uuid.uuid4().hex[:8]}"
    # The benchmark's partner door starts at the topic's end: replaying a week of other runs' records
    # (dead-lettered, as their partners are unknown here) would load the machine during the measurement.
    # On a broker that has never run the suite the topic does not exist yet (the service creates the
    # registry's topics at start-up): create them first, as the service would.
    await ensure_topics(KafkaSettings(bootstrap=args.bootstrap), topics.TOPICS)
    await skip_to_end(args.bootstrap, group, topics.PARTNER_INPUT)
    dsn = f"{args.postgres.rstrip('/')}/{db_name}"
    env = {
        **os.environ,
        "LSG_DATABASE_URL": dsn,
        "LSG_KAFKA_BOOTSTRAP": args.bootstrap,
        "LSG_API_TOKENS": api_tokens(grant(ADMIN, "bench", ["admin"])),
        "LSG_ALERTS_SECRETS_KEY": Fernet.generate_key().decode(),
        "LSG_PARTNER_RATE_PER_S": str(args.rate * 2),
        "LSG_PARTNER_RATE_BURST": str(args.rate * 4),
        "LSG_PARTNER_GROUP_ID": group,
        "LSG_LOG_LEVEL": "WARNING",
        "LSG_DB_POOL_MAX": "20",
    }
    servers: list[subprocess.Popen[bytes]] = []
    ports = [args.port + i for i in range(args.replicas)]
    try:
        # Replicas share the database and the partner group, as the chart's pods do; started one after the
        # other (the first applies the migrations), like a rollout.
        for port in ports:
            servers.append(
                subprocess.Popen(  # noqa: ASYNC220 (a fixed command line)
                    [sys.executable, "-m", "lsg_alerts", "serve", "--port", str(port)],
                    env=env,
                    stdout=subprocess.DEVNULL if not args.verbose else None,
                    stderr=subprocess.STDOUT if not args.verbose else None,
                    start_new_session=True,
                )
            )
            await wait_ready(f"http://127.0.0.1:{port}")
        return await measure(args, ports, [s.pid for s in servers])
    finally:
        for server in servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if not args.keep_db:
            admin = await asyncpg.connect(f"{args.postgres.rstrip('/')}/postgres")
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            finally:
                await admin.close()


async def measure(args: argparse.Namespace, ports: list[int], pgids: list[int]) -> dict[str, Any]:
    base = f"http://127.0.0.1:{ports[0]}"
    auth = bearer(ADMIN)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        partner = f"bench-{uuid.uuid4().hex[:8]}"
        r = await client.post("/v1/partners", json={"partner_id": partner}, headers=auth)
        r.raise_for_status()
        secret = r.json()["new_secret"]["secret"]
        device = f"siren-{uuid.uuid4().hex[:8]}"
        r = await client.post(
            "/v1/devices",
            json={"device_id": device, "kind": "siren", "place": settlement_place(), "partner_id": partner},
            headers=auth,  # admin outranks the editor role the route needs
        )
        r.raise_for_status()
        (await client.post(f"/v1/devices/{device}/install", json={}, headers=auth)).raise_for_status()

        # The reader's own process (spawned: no copy of this process's loop or sockets).
        pipe, child_pipe = multiprocessing.get_context("spawn").Pipe()
        reader = multiprocessing.get_context("spawn").Process(
            target=read_alerts, args=(args.bootstrap, topics.ALERTS, child_pipe), daemon=True
        )
        reader.start()
        while not pipe.poll():  # noqa: ASYNC110 (waiting for the reader process to position itself)
            await asyncio.sleep(0.05)
        assert pipe.recv() == "ready"
        sent: dict[str, tuple[float, float]] = {}
        errors: dict[str, int] = {}
        queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
        host = "127.0.0.1"
        path = f"/v1/partners/{partner}/alerts"
        build: Callable[..., bytes] = cap_xml if args.format == "xml" else cap_json
        media = "application/cap+xml" if args.format == "xml" else "application/json"

        def request(i: int) -> bytes:
            body = build(identifier=f"bench-{i}-{uuid.uuid4().hex[:6]}", device_id=device, severity="Minor")
            h = signed_headers(secret, body, content_type=media)
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\ncontent-type: {h['content-type']}\r\n"
                f"x-lsg-timestamp: {h['x-lsg-timestamp']}\r\nx-lsg-signature: {h['x-lsg-signature']}\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            ).encode()
            return head + body

        # Every request is built and signed before the clock starts (the run is well inside the signature's
        # five-minute window), so the load generator's own CPU does not compete with the service's.
        total = int(args.rate * args.duration)
        warmup = int(args.rate * args.warmup)
        prepared = {i: request(i) for i in range(-warmup, total)}

        async def worker(port: int) -> None:
            # A bare HTTP/1.1 keep-alive connection: httpx's own overhead at 200 requests/s on a shared
            # 2-core machine was larger than the service's, so it measured the client, not the service.
            # Connections are spread over the replicas the way a Kubernetes Service spreads them.
            reader_, writer = await asyncio.open_connection(host, port)
            try:
                while (item := await queue.get()) is not None:
                    i, scheduled = item
                    writer.write(prepared.pop(i))
                    await writer.drain()
                    status_line, *header_lines = (await reader_.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                    length = next(
                        int(v)
                        for k, _, v in (ln.partition(":") for ln in header_lines)
                        if k.lower() == "content-length"
                    )
                    payload = await reader_.readexactly(length)
                    t1 = time.perf_counter()
                    status = status_line.split()[1]
                    if i < 0:
                        continue  # a warm-up request: not measured
                    if status != "202":
                        errors[status] = errors.get(status, 0) + 1
                        continue
                    sent[json.loads(payload)["alert_id"]] = (scheduled, t1)
            finally:
                writer.close()

        workers = [asyncio.create_task(worker(ports[n % len(ports)])) for n in range(args.connections)]
        # Warm-up at the same rate, not measured: the pool's connections, prepared statements and the first
        # call of every code path are paid here, as a service that has been running a while has paid them.
        warm_start = time.perf_counter()
        for i in range(warmup):
            delay = warm_start + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((-1 - i, 0.0))
        while not queue.empty():  # noqa: ASYNC110 (waiting for the workers to take the warm-up requests)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        profiler = None
        if args.py_spy:
            profiler = subprocess.Popen(  # noqa: ASYNC220 (a fixed command line, started once)
                [
                    os.path.join(os.path.dirname(sys.executable), "py-spy"),
                    "record",
                    "--pid",
                    str(pgids[0]),
                    "--format",
                    "raw",
                    "--output",
                    args.py_spy,
                    "--duration",
                    str(int(args.duration)),
                    "--rate",
                    "250",
                    "--nonblocking",
                    "--subprocesses",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        reference_before = reference_seconds()
        # The load generator's own garbage collector stays out of the measurement: a full collection of this
        # process's heap (the prepared requests, the imported service code) paused it for ~75 ms about 11 s
        # into every run, and the requests it then sent in one burst queued in the service: a spike of
        # 200-450 ms that was the load generator's, not the service's. Frozen, then off until the sends end
        # (a minute of bookkeeping allocates little and makes no cycles worth collecting).
        gc.collect()
        gc.freeze()
        gc.disable()
        load_before = os.getloadavg()[0]
        cpu_before = group_cpu_seconds(*pgids)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        harness_cpu_before = usage.ru_utime + usage.ru_stime
        start = time.perf_counter()
        started_at = time.time()
        probe = MachineProbe()
        probing = asyncio.create_task(probe.run(start))
        for i in range(total):
            scheduled = start + i / args.rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((i, scheduled))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        send_seconds = time.perf_counter() - start
        gc.enable()
        pipe.send(set(sent))
        while not pipe.poll():  # noqa: ASYNC110 (the reader answers once it read them all, or after 30 s)
            await asyncio.sleep(0.1)
        received, reader_cpu = pipe.recv()
        reader.join(timeout=10)
        cpu_used = group_cpu_seconds(*pgids) - cpu_before
        probed_s = time.perf_counter() - start
        harness = resource.getrusage(resource.RUSAGE_SELF)
        harness_cpu = harness.ru_utime + harness.ru_stime - harness_cpu_before
        probing.cancel()
        with contextlib.suppress(BaseException):
            await probing
        if profiler is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(timeout=30)

    if args.dump:
        # One line per accepted alert, in send order: seconds since the first send, reply and read delays
        # (ms); what shows whether the tail is periodic (GC, timers, flushes) or plain queueing.
        lines = []
        for a, (t0, t1) in sorted(sent.items(), key=lambda item: item[1][0]):
            consumed = (received[a] - t1) * 1000 if a in received else float("nan")
            lines.append(f"{t0 - start:.3f} {(t1 - t0) * 1000:.2f} {consumed:.2f}\n")
        Path(args.dump).write_text("".join(lines))  # noqa: ASYNC240 (after the measurement)
    end_to_end = [received[a] - t0 for a, (t0, _t1) in sent.items() if a in received]
    http = [t1 - t0 for (t0, t1) in sent.values()]
    after_response = [received[a] - t1 for a, (_t0, t1) in sent.items() if a in received]
    return {
        "format": args.format,
        "rate_target_per_s": args.rate,
        "duration_s": args.duration,
        "started_at": round(started_at, 3),
        "replicas": args.replicas,
        "warmup_s": args.warmup,
        "sent": total,
        "accepted": len(sent),
        "consumed": len(end_to_end),
        "missing": len(sent) - len(end_to_end),
        "errors": errors,
        "achieved_rate_per_s": round(len(sent) / send_seconds, 1),
        "send_to_consumed": summary(end_to_end),
        "http_202": summary(http),
        "response_to_consumed": summary(after_response),
        # The stable figure on a shared machine: the service's CPU (all its processes) per accepted alert,
        # from the first request until every accepted alert was consumed (the relay's publishing included).
        "service_cpu_ms_per_request": round(cpu_used * 1000 / max(1, len(sent)), 3),
        # The load generator's and the reader's CPU (reader from its start, so slightly over): what the
        # service competes with on this machine beyond Kafka and PostgreSQL.
        "harness_cpu_cores": {
            "load_generator": round(harness_cpu / probed_s, 3),
            "reader": round(reader_cpu / probed_s, 3),
        },
        "load_average_before": round(load_before, 2),
        "reference_s_before": reference_before,
        "reference_s_after": reference_seconds(),
        "load_average_after": round(os.getloadavg()[0], 2),
        "worst_second": worst_second(sent, received, start),
        "machine": probe.summary(probed_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="alerts per second")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--port", type=int, default=8093, help="first replica's port (the next ones follow)")
    parser.add_argument(
        "--replicas", type=int, default=1, help="alerts service processes on one database (production runs 2)"
    )
    parser.add_argument("--warmup", type=float, default=5, help="seconds at the same rate before measuring")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive HTTP connections")
    parser.add_argument("--bootstrap", default=os.environ.get("LSG_KAFKA_BOOTSTRAP", "127.0.0.1:29092"))
    parser.add_argument("--postgres", default="postgresql://postgres:postgres@127.0.0.1:25432")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="show the service's output")
    parser.add_argument("--format", choices=("json", "xml"), default="json", help="CAP JSON or CAP XML bodies")
    parser.add_argument("--dump", metavar="FILE", help="write each alert's send time and delays to FILE")
    parser.add_argument("--py-spy", metavar="FILE", help="record a py-spy profile (raw format) of the service")
    args = parser.parse_args()
    print(json.dumps(uvloop.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
