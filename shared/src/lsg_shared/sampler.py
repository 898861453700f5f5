"""Periodic gauges that no request updates: consumer lag per partition and database pool usage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition

from lsg_shared import metrics
from lsg_shared.health import readiness

if TYPE_CHECKING:
    from lsg_shared.runtime import Runtime

log = logging.getLogger(__name__)


async def sample_lag(broker: Any) -> dict[tuple[str, str, int], int]:
    """Lag of every partition assigned to this process's subscribers (what the group still has to read)."""
    out: dict[tuple[str, str, int], int] = {}
    for subscriber in getattr(broker, "subscribers", []):
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None:
            continue
        group = str(getattr(consumer, "_group_id", None) or "none")
        assignment: set[TopicPartition] = consumer.assignment()
        for tp in assignment:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            with contextlib.suppress(Exception):
                position = await consumer.position(tp)
                lag = max(highwater - position, 0)
                out[(group, tp.topic, tp.partition)] = lag
                metrics.CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(lag)
    return out


def sample_pool(rt: Runtime) -> None:
    pool = rt._pool
    if pool is None:
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    metrics.DB_POOL_SIZE.labels(rt.name, "in_use").set(size - idle)
    metrics.DB_POOL_SIZE.labels(rt.name, "idle").set(idle)
    metrics.DB_POOL_SIZE.labels(rt.name, "max").set(pool.get_max_size())


async def sample_readiness(rt: Runtime) -> bool:
    checks = await readiness(rt, rt.migrations)
    for name, check in checks.items():
        metrics.DEPENDENCY_UP.labels(rt.name, name).set(1 if check.get("ok") else 0)
    ready = all(c.get("ok") for c in checks.values())
    metrics.READY.labels(rt.name).set(1 if ready else 0)
    return ready


def _total(metric: Any, **match: str) -> float:
    total = 0.0
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(("_created", "_bucket", "_sum")):
                continue
            if all(sample.labels.get(k) == v for k, v in match.items()):
                total += sample.value
    return total


def summary_line(service: str) -> str:
    """One line of what happened, for installs without a metrics backend (logged once a minute)."""
    return (
        f"summary {service}: consumed processed={_total(metrics.EVENTS_CONSUMED, outcome='processed'):.0f} "
        f"duplicate={_total(metrics.EVENTS_CONSUMED, outcome='duplicate'):.0f} "
        f"dead_lettered={_total(metrics.DEAD_LETTERS):.0f} retried={_total(metrics.EVENTS_RETRIED):.0f}; "
        f"outbox published={_total(metrics.OUTBOX_PUBLISHED):.0f} backlog={_total(metrics.OUTBOX_BACKLOG):.0f} "
        f"oldest={_total(metrics.OUTBOX_OLDEST_AGE):.0f}s; lag={_total(metrics.CONSUMER_LAG):.0f}; "
        f"http requests={_total(metrics.HTTP_REQUESTS):.0f}; ready={_total(metrics.READY, service=service):.0f}"
    )


async def run(rt: Runtime, interval_s: float = 5.0, summary_every_s: float = 60.0) -> None:
    # With an OTLP endpoint the metrics leave the process; without one, a line a minute keeps the log useful.
    exporting = bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    )
    last_summary = time.monotonic()
    while True:
        if not exporting and time.monotonic() - last_summary >= summary_every_s:
            last_summary = time.monotonic()
            log.info(summary_line(rt.name))
        try:
            sample_pool(rt)
            await sample_readiness(rt)
            if rt.broker_started:
                await sample_lag(rt.broker)
        except asyncio.CancelledError:
            raise
        except Exception:  # a sampling hiccup must never take the service down
            log.debug("metrics sampling failed", exc_info=True)
        await asyncio.sleep(interval_s)
