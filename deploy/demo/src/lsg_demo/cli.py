"""``lsg-demo``: play a programme year (or its first half) through the services' public doors.

    lsg-demo --scenario full-year --speed max          # every indicator's target met
    lsg-demo --scenario mid-year --seed 7              # the state on 30 June: several indicators behind
    lsg-demo --speed 86400                             # a simulated day per second (the year in ~6 minutes)
    lsg-demo --live                                    # then keep the devices' heartbeats and a duty operator going
    lsg-demo --summary                                 # only print the indicators

Tokens come from ``--admin-token``/``--editor-token``, ``LSG_DEMO_ADMIN_TOKEN``/``LSG_DEMO_EDITOR_TOKEN`` or the
``.data/run/secrets.env`` that ``make run`` writes; service URLs from ``--<svc>-url`` or ``LSG_DEMO_<SVC>_URL``
(default 127.0.0.1:8001-8004). Heartbeats go to the partner topic (``LSG_KAFKA_*``), or over HTTP when Kafka
cannot be reached. Exit status: 0, or 3 with ``--expect-targets`` when an indicator is below its target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from datetime import date
from typing import Any

from lsg_demo.client import SERVICES, Api, Endpoints
from lsg_demo.scenario import SCENARIOS, Programme, Step

log = logging.getLogger("lsg_demo")
REPORTING_TOPICS = (
    "lsg.surveys.events.v1",
    "lsg.training.events.v1",
    "lsg.alerts.events.v1",
    "lsg.reporting.events.v1",
)


class Progress:
    """A one-line progress bar on a terminal; a line per 10 % otherwise (logs, CI)."""

    def __init__(self, total: int, *, enabled: bool = True) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self._last_decile = -1
        self.started = time.monotonic()

    def advance(self, n: int, day: date, label: str) -> None:
        self.done = min(self.total, self.done + n)
        if not self.enabled:
            return
        share = self.done / self.total
        if self.tty:
            width = 30
            bar = "█" * int(width * share) + "░" * (width - int(width * share))
            line = f"\r{bar} {share:4.0%}  {day:%Y-%m-%d}  {label[:48]:<48}"
            sys.stderr.write(line)
            sys.stderr.flush()
        elif int(share * 10) != self._last_decile:
            self._last_decile = int(share * 10)
            sys.stderr.write(f"[{share:4.0%}] {day:%Y-%m-%d} {label}\n")

    def finish(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def _parse_speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be positive or 'max'")
    return value


async def _kafka_producer() -> Any | None:
    """A producer on the partner topic, or None when Kafka cannot be reached (heartbeats then go over HTTP)."""
    try:
        from aiokafka import AIOKafkaProducer

        from lsg_shared.kafka import client_kwargs
        from lsg_shared.settings import KafkaSettings

        settings = KafkaSettings()
        producer = AIOKafkaProducer(**client_kwargs(settings), acks="all", request_timeout_ms=10_000)
        await asyncio.wait_for(producer.start(), timeout=15)
        return producer
    except Exception as exc:
        log.warning("partner topic not reachable (%s): heartbeats go over the HTTP door", exc)
        with contextlib.suppress(Exception):
            await producer.stop()  # type: ignore[possibly-undefined]
        return None


async def _reporting_lag(group: str) -> int | None:
    """Records of the reporting service's topics not yet committed by its consumer group (None: unknown)."""
    try:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from lsg_shared.kafka import client_kwargs
        from lsg_shared.settings import KafkaSettings

        consumer = AIOKafkaConsumer(**client_kwargs(KafkaSettings()), group_id=group, enable_auto_commit=False)
        await asyncio.wait_for(consumer.start(), timeout=10)
        try:
            parts = [TopicPartition(t, p) for t in REPORTING_TOPICS for p in (consumer.partitions_for_topic(t) or ())]
            if not parts:
                return None
            ends = await consumer.end_offsets(parts)
            lag = 0
            for tp in parts:
                committed = await consumer.committed(tp)
                lag += max(0, ends[tp] - (committed or 0))
            return lag
        finally:
            await consumer.stop()
    except Exception:
        return None


async def wait_for_reporting(api: Api, *, group: str, timeout: float, quiet_s: float = 3.0) -> list[dict[str, Any]]:
    """Poll ``GET /v1/indicators`` until the reporting consumer has caught up: its group's lag is 0 (when Kafka
    can be asked) and the figures have not changed for `quiet_s` seconds."""
    deadline = time.monotonic() + timeout
    last: str | None = None
    stable_since = time.monotonic()
    indicators: list[dict[str, Any]] = []
    await asyncio.sleep(1.5)  # the services' outbox relays poll every second (and wake on NOTIFY)
    while time.monotonic() < deadline:
        body = await api.get("reporting", "/v1/indicators", role=None)
        indicators = body["indicators"]
        # Availability moves with the clock (supervised time grows): it never settles, so it is left out.
        figures = json.dumps(
            [(i["code"], i["numerator"], i["denominator"]) for i in indicators if i["aggregation"] != "availability"]
        )
        if figures != last:
            last, stable_since = figures, time.monotonic()
        elif time.monotonic() - stable_since >= quiet_s:
            # A service not yet connected to Kafka holds its writes in its outbox: the topics' ends (and so the
            # lag) say nothing about those until it publishes (a fresh suite connects with a growing pause).
            connected = [await api.publishing(svc) for svc in ("surveys", "training", "alerts", "reporting")]
            lag = await _reporting_lag(group) if all(connected) else -1
            if lag in (0, None):
                return indicators
            stable_since = time.monotonic()  # look again after another quiet spell
        await asyncio.sleep(0.5)
    log.warning("the reporting figures were still moving after %.0f s", timeout)
    return indicators


def met(ind: dict[str, Any]) -> bool | None:
    if ind["target"] is None:
        return None
    if ind["actual"] is None:
        return False
    return bool(ind["actual"] >= ind["target"])


def print_table(indicators: list[dict[str, Any]]) -> None:
    print(f"{'indicator':<28} {'target':>8} {'actual':>9}  {'':<6} title")
    for ind in indicators:
        ok = met(ind)
        mark = "—" if ok is None else ("met" if ok else "BEHIND")
        target = "" if ind["target"] is None else f"{ind['target']:g}"
        actual = "" if ind["actual"] is None else f"{ind['actual']:g}"
        print(f"{ind['code']:<28} {target:>8} {actual:>9}  {mark:<6} {ind['title']['en']}")
    judged = [i for i in indicators if met(i) is not None]
    print(f"{sum(1 for i in judged if met(i))} of {len(judged)} indicators with a target meet it")


def print_plan(plan: dict[str, Any]) -> None:
    """The work plan as the reporting service judges it on the scenario's last day (issue 27)."""
    print(f"work plan as of {plan['as_of']}: output progress {plan['output_progress_pct']} %")
    for wp in plan["work_packages"]:
        slipping = [a["code"] for a in wp["activities"] if a["slipping"]]
        done = sum(d["status"] == "delivered" for a in wp["activities"] for d in a["deliverables"])
        total = sum(len(a["deliverables"]) for a in wp["activities"])
        progress = "-" if wp["output_progress_pct"] is None else f"{wp['output_progress_pct']} %"
        late = f"  slipping: {', '.join(slipping)}" if slipping else ""
        print(f"  {wp['code']} {wp['title']['en']:<40} {done:>2}/{total:<2} delivered  output {progress:>8}{late}")
    burn = plan.get("burn") or {}
    if burn:
        print(
            f"  spent EUR {burn['spent']} of {burn['budget']} ({burn['spent_pct']} %), time {burn['time_pct']} %, "
            f"output {burn['output_progress_pct']} %, forecast EUR {burn['forecast']}"
        )
    print(f"  {len(plan['slippage'])} slippage flag(s)")


async def _run_steps(programme: Programme, steps: list[Step], speed: float | None, progress: Progress) -> None:
    wall_per_day = None if speed is None else 86400.0 / speed
    previous = steps[0].day if steps else None
    for step in steps:
        if wall_per_day is not None and previous is not None and step.day > previous:
            await asyncio.sleep((step.day - previous).days * wall_per_day)
        previous = step.day
        await step.run()
        progress.advance(step.weight, step.day, step.label)


async def live(programme: Programme, *, heartbeat_every_s: float, stop: asyncio.Event) -> None:
    """Keep the installed devices' heartbeats coming and a duty operator acknowledging alerts, until stopped."""
    next_round = 0.0
    while not stop.is_set():
        now = time.monotonic()
        try:
            if now >= next_round:
                await programme.heartbeat_round()
                next_round = now + heartbeat_every_s
            acked = await programme.duty_operator()
            if acked:
                log.info("duty operator acknowledged %d alert(s)", acked)
        except Exception as exc:
            log.warning("live round failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=5)


async def amain(args: argparse.Namespace) -> int:
    endpoints = Endpoints.resolve(
        urls={svc: getattr(args, f"{svc}_url") for svc in SERVICES},
        admin_token=args.admin_token,
        editor_token=args.editor_token,
        secrets_file=args.secrets_file,
        port_offset=args.port_offset,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Api(endpoints) as api:
        if args.summary:
            print_table((await api.get("reporting", "/v1/indicators", role=None))["indicators"])
            print_plan(await api.get("reporting", "/v1/workplan", role=None))
            return 0
        kafka = None if args.http_heartbeats else await _kafka_producer()
        programme = Programme(api, scenario=args.scenario, seed=args.seed, kafka=kafka)
        try:
            t0 = time.monotonic()
            steps = programme.steps()
            marker = programme.final_marker()
            done_before = False
            if not args.force:
                listed = await api.get("reporting", "/v1/deliverables", params={"limit": 1000})
                done_before = any(d["deliverable_id"] == marker for d in listed["items"])
            if done_before:
                print(
                    f"lsg-demo: scenario {args.scenario} (seed {args.seed}) is already recorded "
                    f"(deliverable {marker} exists): nothing to replay (--force replays; every step is idempotent)"
                )
                await programme.setup_alerts()  # fresh partner secrets for the live heartbeats
            else:
                print(f"lsg-demo: {args.scenario}, seed {args.seed}, speed {args.speed}: {len(steps)} steps")
                progress = Progress(sum(s.weight for s in steps), enabled=not args.quiet)
                try:
                    await _run_steps(programme, steps, args.speed_value, progress)
                finally:
                    progress.finish()
                note = await programme.wait_escalation(args.escalation_wait)
                print(f"lsg-demo: {note}")
                acked = await programme.duty_operator()
                if acked:
                    print(f"lsg-demo: duty operator acknowledged {acked} supervision alert(s)")
                took = time.monotonic() - t0
                counts = ", ".join(f"{v} {k}" for k, v in programme.state.counts.items())
                print(f"lsg-demo: played in {took:.1f} s, {api.calls} HTTP calls ({counts})")
            if not args.no_wait:
                t1 = time.monotonic()
                indicators = await wait_for_reporting(api, group=args.reporting_group, timeout=args.wait_timeout)
                print(f"lsg-demo: reporting caught up in {time.monotonic() - t1:.1f} s")
                print_table(indicators)
                # judged today: the services record the simulated days' facts on the wall clock
                print_plan(await api.get("reporting", "/v1/workplan", role=None))
                if args.expect_targets and any(met(i) is False for i in indicators):
                    return 3
            if args.live:
                print(
                    "lsg-demo: live: device heartbeats every "
                    f"{args.heartbeat_every:g} s and a duty operator; Ctrl-C stops",
                    flush=True,
                )
                await live(programme, heartbeat_every_s=args.heartbeat_every, stop=stop)
        finally:
            if kafka is not None:
                await kafka.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lsg-demo",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--scenario", choices=SCENARIOS, default="full-year")
    p.add_argument("--seed", type=int, default=2025, help="ids and content derive from it (default 2025)")
    p.add_argument(
        "--speed",
        default="max",
        help="'max' (as fast as the services allow) or N: a programme year in 365/N days of wall time",
    )
    p.add_argument("--live", action="store_true", help="afterwards, keep heartbeats and a duty operator running")
    p.add_argument("--heartbeat-every", type=float, default=60.0, help="seconds between live heartbeat rounds")
    p.add_argument(
        "--escalation-wait",
        type=float,
        default=30.0,
        help="wait for the escalation example when it is due within this many seconds (default 30)",
    )
    p.add_argument("--force", action="store_true", help="replay even when the scenario is already recorded")
    p.add_argument("--no-wait", action="store_true", help="do not wait for the reporting figures")
    p.add_argument("--wait-timeout", type=float, default=120.0)
    p.add_argument("--expect-targets", action="store_true", help="exit 3 when an indicator is below its target")
    p.add_argument("--summary", action="store_true", help="only print the indicator table")
    p.add_argument("--http-heartbeats", action="store_true", help="send heartbeats over HTTP, not the partner topic")
    p.add_argument("--reporting-group", default="reporting", help="consumer group of the reporting service")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--admin-token")
    p.add_argument("--editor-token")
    p.add_argument("--secrets-file", help="env file with LSG_DEMO_ADMIN_TOKEN/LSG_DEMO_EDITOR_TOKEN")
    p.add_argument("--port-offset", type=int, default=0, help="services on 8001+N..8004+N")
    for svc in SERVICES:
        p.add_argument(f"--{svc}-url", default=None)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.speed_value = _parse_speed(args.speed)
    except (ValueError, argparse.ArgumentTypeError):
        build_parser().error(f"--speed: expected 'max' or a positive number, got {args.speed!r}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s lsg-demo %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(amain(args)))
    sys.exit(130)


if __name__ == "__main__":
    main()
