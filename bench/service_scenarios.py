"""Scenario 4, the alert path, with background load on the reporting service.

The latency itself is measured by the alert-path script (``bench/alerts_latency.py``:
it starts the alerts service, sends signed CAP alerts open-loop at a fixed rate and reads ``alert.raised``
from Kafka). Around it, on the same bench broker, this scenario runs the reporting service (fresh database,
its group starting at the topics' ends) and a producer writing generated suite events to the consumed
topics at `--background-rate` (2 000/s), so the alert path shares the machine and the broker with a
working reporting consumer, as it would in production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from bench.lib import (
    CONSUMED_TOPICS,
    ROOT,
    RssSampler,
    ServiceProcess,
    SuiteRecords,
    commit_at_end,
    committed_offsets,
    end_offsets,
    fresh_database,
    service_env,
)
from bench.reporting import LOGS, PORTS, Bench, reporting_argv

PY = sys.executable
ALERTS_PORT = 18195
BACKGROUND_FIRST_COPY = 500_000  # ids distinct from the pre-filled copies


async def background_load(bootstrap: str, suite: SuiteRecords, rate: float, stop: asyncio.Event) -> dict[str, float]:
    """Suite records at `rate`/s (open loop, in slices of 20 ms) until `stop`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    records = suite.records(10**9, first_copy=BACKGROUND_FIRST_COPY)
    sent = 0
    start = time.perf_counter()
    try:
        while not stop.is_set():
            due = int((time.perf_counter() - start) * rate)
            pending = []
            while sent < due:
                topic, key, value, headers = next(records)
                pending.append(await producer.send(topic, value, key=key, headers=headers))
                sent += 1
            if pending:
                await asyncio.gather(*pending)
            await asyncio.sleep(0.02)
    finally:
        await producer.stop()
    seconds = time.perf_counter() - start
    return {"sent": sent, "seconds": round(seconds, 1), "events_per_s": round(sent / seconds)}


def _child_pid(pid: int) -> int | None:
    """The alerts service started by the latency script (which also runs its reader as a child process)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children():
            with contextlib.suppress(psutil.Error):
                if "lsg_alerts" in child.cmdline():
                    return int(child.pid)
    return None


async def scenario_alert_path(args: argparse.Namespace, results: dict[str, Any]) -> None:
    bench: Bench = args.bench
    group = f"bench-alert-bg-{uuid.uuid4().hex[:8]}"
    await commit_at_end(bench.bootstrap, group, CONSUMED_TOPICS)
    stop = asyncio.Event()
    async with fresh_database(bench.admin_dsn, "alert_reporting") as dsn:
        env = service_env(LSG_DATABASE_URL=dsn, LSG_KAFKA_BOOTSTRAP=bench.bootstrap, LSG_CONSUMER_GROUP=group)
        reporting = ServiceProcess(
            "reporting-bg", reporting_argv(PORTS["reporting"]), env, LOGS / "alert-reporting.log"
        )
        await reporting.start()
        try:
            await reporting.wait_ready(f"http://127.0.0.1:{PORTS['reporting']}/health/ready")
            background = asyncio.create_task(
                background_load(bench.bootstrap, bench.suite, args.background_rate, stop)
                if args.background_rate > 0
                else asyncio.sleep(0, {"sent": 0, "seconds": 0, "events_per_s": 0})
            )
            cmd = [
                PY,
                "bench/alerts_latency.py",
                "--rate",
                str(args.alert_rate),
                "--duration",
                str(args.alert_duration),
                "--bootstrap",
                bench.bootstrap,
                "--port",
                str(ALERTS_PORT),
                "--postgres",
                bench.admin_dsn.rsplit("/", 1)[0],
            ]
            proc = await asyncio.create_subprocess_exec(
                *cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=service_env()
            )
            with (
                RssSampler(lambda: _child_pid(proc.pid) if proc.returncode is None else None) as alerts_rss,
                RssSampler(lambda: reporting.pid) as reporting_rss,
            ):
                out, err = await asyncio.wait_for(proc.communicate(), args.alert_duration + 300)
            stop.set()
            bg = await background
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
            text = out.decode()
            data = json.loads(text[text.index("{") :])
            caught_up = await _wait_caught_up(bench.bootstrap, group, timeout=120)
        finally:
            stop.set()
            await reporting.stop()
    e2e = data["send_to_consumed"]
    results["alert_rate_target_per_s"] = data["rate_target_per_s"]
    results["alert_achieved_rate_per_s"] = data["achieved_rate_per_s"]
    results["alert_p50_ms"], results["alert_p95_ms"], results["alert_p99_ms"] = (
        e2e["p50_ms"],
        e2e["p95_ms"],
        e2e["p99_ms"],
    )
    results["alert_missing"] = data["missing"]
    results["alert_background_events_per_s"] = bg["events_per_s"]
    results["alert_detail"] = {
        "duration_s": data["duration_s"],
        "sent": data["sent"],
        "accepted": data["accepted"],
        "errors": data.get("errors"),
        "http_202": data["http_202"],
        "response_to_consumed": data["response_to_consumed"],
        "background": bg,
        "reporting_caught_up_s_after_load": caught_up,
    }
    load = results.setdefault("rss_mb_load", {})
    load["alerts"] = alerts_rss.peak
    load["reporting_during_alerts"] = reporting_rss.peak
    print(
        f"  alert path: p50 {e2e['p50_ms']} ms, p95 {e2e['p95_ms']} ms, p99 {e2e['p99_ms']} ms at "
        f"{data['achieved_rate_per_s']}/s, {data['missing']} missing; background {bg['events_per_s']:,} events/s, "
        f"reporting caught up {caught_up} s after",
        flush=True,
    )


async def _wait_caught_up(bootstrap: str, group: str, timeout: float) -> float | None:
    """Seconds until the reporting group's committed offsets reach the topics' ends (None: not in time)."""
    ends = await end_offsets(bootstrap, CONSUMED_TOPICS)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    start = time.monotonic()
    try:
        while time.monotonic() - start < timeout:
            committed = await committed_offsets(admin, group)
            if all(committed.get(tp, 0) >= end for tp, end in ends.items()):
                return round(time.monotonic() - start, 1)
            await asyncio.sleep(0.25)
    finally:
        await admin.close()
    return None


SCENARIOS = {"alert": scenario_alert_path}
