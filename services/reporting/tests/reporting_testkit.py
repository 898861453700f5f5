"""Test kit of the reporting tests: the independent oracle, a private broker's topics, producing, waiting.

The oracle computes every expected figure from the generator's `truth` (what the generated programme
year means) with plain Python: no catalogue rule, no SQL, none of the service's code paths.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from lsg_events import CloudEvent, topics
from lsg_reporting.adapters import postgres as repo
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.figures import ALL_DIMENSIONS, AREA_DIMENSIONS
from lsg_reporting.domain.periods import PERIOD_KINDS
from lsg_shared.kafka import ensure_topics
from lsg_shared.settings import KafkaSettings
from lsg_testkit.programme import Programme

CellKey = tuple[str, str, str, str, str]  # code, period kind, period, dimension, value
AVAILABILITY = "CA.DEVICE_AVAILABILITY"


def _periods(at: datetime) -> list[tuple[str, str]]:
    at = at.astimezone(UTC)
    return [
        ("programme", "programme"),
        ("year", str(at.year)),
        ("quarter", f"{at.year}Q{(at.month + 2) // 3}"),
        ("month", f"{at.year}{at.month:02d}"),
    ]


def _area_dims(area: Sequence[str | None]) -> list[tuple[str, str]]:
    out = [("total", "ALL")]
    for dim, code in zip(("country", "municipality", "territory", "settlement"), area, strict=True):
        if code is None:
            break
        out.append((dim, code))
    return out


def oracle(programme: Programme, until: datetime) -> dict[CellKey, tuple[float, float]]:
    acc: dict[CellKey, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for t in programme.truth:
        dims = _area_dims(t.area)
        for dim, value in (("role", t.role), ("gender", t.gender), ("wave", t.wave), ("tag", t.tag)):
            if value is not None:
                dims.append((dim, str(value)))
        for kind, period in _periods(t.time):
            for dim, value in dims:
                cell = acc[(t.code, kind, period, dim, value)]
                cell[0] += t.num
                cell[1] += t.den
    for history in programme.devices.values():
        history = sorted(history)
        area = history[-1][2]
        for (start, status, _), nxt in zip(history, [*history[1:], None], strict=True):
            if status not in ("installed", "online", "offline", "maintenance"):
                continue
            end = min(nxt[0] if nxt else until, until)
            cursor = start
            while cursor < end:  # split at month starts; quarters, years and the programme are sums of months
                month_end = datetime(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1, tzinfo=UTC)
                stop = min(end, month_end)
                seconds = (stop - cursor).total_seconds()
                for kind, period in _periods(cursor):
                    for dim, value in _area_dims(area):
                        cell = acc[(AVAILABILITY, kind, period, dim, value)]
                        cell[1] += seconds
                        if status == "online":
                            cell[0] += seconds
                cursor = stop
    return {k: (v[0], v[1]) for k, v in acc.items() if v[0] or v[1]}


async def service_cells(
    conn: asyncpg.Connection, catalogue: Catalogue, until: datetime, table: str = "fact"
) -> dict[CellKey, tuple[float, float]]:
    summed = [i for i in catalogue.indicators if i.aggregation != "availability"]
    avail = [i for i in catalogue.indicators if i.aggregation == "availability"]
    cells = await repo.cells(conn, summed, until=until, period_kinds=PERIOD_KINDS, dims=ALL_DIMENSIONS, table=table)
    cells += await repo.cells(conn, avail, until=until, period_kinds=PERIOD_KINDS, dims=AREA_DIMENSIONS, table=table)
    return {c.key(): (c.num, c.den) for c in cells if c.num or c.den}


def differences(
    expected: dict[CellKey, tuple[float, float]], actual: dict[CellKey, tuple[float, float]], tol: float = 1e-6
) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(actual)):
        e, a = expected.get(key, (0.0, 0.0)), actual.get(key, (0.0, 0.0))
        if abs(e[0] - a[0]) > tol * max(1, abs(e[0])) or abs(e[1] - a[1]) > tol * max(1, abs(e[1])):
            out.append(f"{key}: expected {e}, got {a}")
    return out


CONSUMED = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)


async def reset_topics(bootstrap: str) -> None:
    """Delete and recreate every registry topic on a PRIVATE broker, so a test starts from empty topics."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    settings = KafkaSettings(bootstrap=bootstrap)
    names = {t.name for t in topics.TOPICS}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics()) & names
        if existing:
            await admin.delete_topics(list(existing))
        for _ in range(150):
            if not set(await admin.list_topics()) & existing:
                break
            await asyncio.sleep(0.2)
        for _ in range(60):
            created = await ensure_topics(settings, topics.TOPICS)
            if set(await admin.list_topics()) >= names and (created or not existing):
                break
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    # Empty, and every partition has a leader (a produce right after creation would otherwise retry).
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        for _ in range(60):
            try:
                await consumer.topics()
                tps = [TopicPartition(t.name, p) for t in topics.TOPICS for p in range(t.partitions)]
                ends = await consumer.end_offsets(tps)
                if all(v == 0 for v in ends.values()):
                    return
            except Exception:  # noqa: S110 (metadata still settling after the re-creation)
                pass
            await asyncio.sleep(0.5)
        raise AssertionError("topics did not come back empty")
    finally:
        await consumer.stop()


async def produce(
    bootstrap: str,
    events: Iterable[CloudEvent],
    extra: Iterable[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = (),
) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    n = 0
    try:
        futures = []
        for e in events:
            key, value, headers = e.to_kafka()
            futures.append(
                await producer.send(e.topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
            )
            n += 1
            if len(futures) >= 5000:
                await asyncio.gather(*futures)
                futures.clear()
        for topic, key, value, headers in extra:
            futures.append(await producer.send(topic, value, key=key, headers=headers))
            n += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n


async def wait_inbox(dsn: str, consumer: str, count: int, timeout: float = 120) -> float:
    """Wait until `consumer` has claimed `count` distinct events; returns the seconds waited."""
    start = time.monotonic()
    last = -1
    while time.monotonic() - start < timeout:
        try:
            conn = await asyncpg.connect(dsn)
            try:
                last = await conn.fetchval("SELECT count(*) FROM lsg_inbox WHERE consumer = $1", consumer)
            finally:
                await conn.close()
        except (asyncpg.UndefinedTableError, OSError):
            last = -1
        if last >= count:
            return time.monotonic() - start
        await asyncio.sleep(0.3)
    raise AssertionError(f"{consumer}: {last} of {count} events consumed after {timeout}s")
