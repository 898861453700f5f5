"""`make bench`: every scenario against the real local Kafka and PostgreSQL, baselines in the same run.

    python -m bench.run [--events 1000000] [--only ceiling,reporting,...]

Writes bench/results/<date>.json and the table in docs/benchmarks.md (machine, versions, command).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ceiling
from bench.lib import Templates, machine, recreate_topic

ROOT = Path(__file__).resolve().parents[1]
Scenario = Callable[[argparse.Namespace, dict[str, Any]], Awaitable[None]]


async def scenario_ceiling(args: argparse.Namespace, results: dict[str, Any]) -> None:
    templates = Templates.build()
    topic = "lsg.bench.ceiling"
    await recreate_topic(args.bootstrap, topic)
    results["record_value_bytes_mean"] = round(templates.mean_value_bytes)
    results["bare_producer_events_per_s"] = round(
        await ceiling.aiokafka_produce(args.bootstrap, topic, args.events, templates)
    )
    print(f"  aiokafka producer: {results['bare_producer_events_per_s']:,} events/s", flush=True)
    batched = "lsg.bench.ceiling.batched"
    await recreate_topic(args.bootstrap, batched)
    results["bare_producer_batched_events_per_s"] = round(
        await ceiling.aiokafka_produce_batched(args.bootstrap, batched, args.events, templates)
    )
    print(f"  aiokafka producer (record batches): {results['bare_producer_batched_events_per_s']:,} events/s")
    results["bare_consumer_events_per_s"] = round(await ceiling.aiokafka_consume(args.bootstrap, topic, args.events))
    print(f"  aiokafka consumer: {results['bare_consumer_events_per_s']:,} events/s", flush=True)
    try:
        topic2 = "lsg.bench.ceiling.confluent"
        await recreate_topic(args.bootstrap, topic2)
        results["confluent_producer_events_per_s"] = round(
            ceiling.confluent_produce(args.bootstrap, topic2, args.events, templates)
        )
        results["confluent_consumer_events_per_s"] = round(
            ceiling.confluent_consume(args.bootstrap, topic2, args.events, f"bench-{datetime.now(UTC):%H%M%S}")
        )
        print(
            f"  confluent-kafka: produce {results['confluent_producer_events_per_s']:,}/s, "
            f"consume {results['confluent_consumer_events_per_s']:,}/s",
            flush=True,
        )
    except ImportError:
        results["confluent_producer_events_per_s"] = None


SCENARIOS: dict[str, Scenario] = {"ceiling": scenario_ceiling}


def extra_scenarios() -> None:
    """Scenarios that live with their service (registered when the service's bench module exists)."""
    try:
        from bench import service_scenarios
    except ImportError:
        return
    SCENARIOS.update(service_scenarios.SCENARIOS)


GOALS = {
    "reporting_events_per_s": (">=", 10_000),
    "reporting_ratio": (">=", 0.30),
    "alert_p99_ms": ("<", 100),
    "rebuild_s": ("<", 120),
    "otel_overhead_pct": ("<=", 15),
}


def table(results: dict[str, Any]) -> str:
    lines = ["| Figure | Value | Goal | Met |", "|---|---|---|---|"]
    for key, value in results.items():
        if key in ("machine", "command", "scenarios_s") or isinstance(value, dict):
            continue
        goal = GOALS.get(key)
        met = ""
        if goal is not None and value is not None:
            op, target = goal
            ok = {"<": value < target, "<=": value <= target, ">=": value >= target}[op]
            met = "yes" if ok else "**no**"
        shown = f"{value:,}" if isinstance(value, int) else str(value)
        lines.append(f"| `{key}` | {shown} | {f'{goal[0]} {goal[1]:,}' if goal else ''} | {met} |")
    for key, value in results.items():
        if isinstance(value, dict) and key not in ("machine", "scenarios_s"):
            for sub, v in value.items():
                lines.append(f"| `{key}.{sub}` | {v} | | |")
    return "\n".join(lines)


def write_docs(results: dict[str, Any], path: Path) -> None:
    marker_start, marker_end = "<!-- bench:start -->", "<!-- bench:end -->"
    m = results["machine"]
    block = "\n".join(
        [
            marker_start,
            f"Last run: {m['date']} on {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
            f"Kafka {m['kafka']}, PostgreSQL {m['postgres']}, aiokafka {m['aiokafka']}, FastStream {m['faststream']}.",
            "",
            f"Command: `{results['command']}`",
            "",
            table(results),
            "",
            "Scenario durations (s): " + ", ".join(f"{k} {v}" for k, v in results.get("scenarios_s", {}).items()),
            marker_end,
        ]
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n\n" + marker_start + "\n" + marker_end + "\n"
    if marker_start not in text:
        text += "\n" + marker_start + "\n" + marker_end + "\n"
    head, rest = text.split(marker_start, 1)
    _, tail = rest.split(marker_end, 1)
    path.write_text(head + block + tail)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    extra_scenarios()
    results: dict[str, Any] = {"machine": machine(), "command": " ".join(["python -m bench.run", *sys.argv[1:]])}
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    durations: dict[str, float] = {}
    for name in chosen:
        print(f"== {name}", flush=True)
        start = asyncio.get_running_loop().time()
        await SCENARIOS[name](args, results)
        durations[name] = round(asyncio.get_running_loop().time() - start, 1)
    if "reporting_events_per_s" in results and results.get("bare_consumer_events_per_s"):
        results["reporting_ratio"] = round(results["reporting_events_per_s"] / results["bare_consumer_events_per_s"], 3)
    results["scenarios_s"] = durations
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.run")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--only", default="")
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--alert-rate", type=float, default=200, help="alerts per second in the alert scenario")
    parser.add_argument("--alert-duration", type=float, default=60, help="seconds of alert load")
    args = parser.parse_args()
    if args.bootstrap is None:
        from lsg_local.stack import LocalStack

        info = LocalStack().ensure_started()
        args.bootstrap, args.database_url = info.kafka_bootstrap, info.postgres_dsn
    results = asyncio.run(main_async(args))
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%dT%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"results: {out.relative_to(ROOT)}")
    if not args.no_docs:
        write_docs(results, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
