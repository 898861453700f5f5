"""The reporting service's use cases: aggregate consumed events, publish changed figures, answer queries."""

from __future__ import annotations

import asyncio
import logging
import time as time_module
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from lsg_events import CloudEvent
from lsg_events.geography import AreaLevel
from lsg_events.reporting import IndicatorUpdated
from lsg_reporting.adapters import repository as repo
from lsg_reporting.domain.catalogue import Catalogue, Indicator
from lsg_reporting.domain.figures import AREA_DIMENSIONS, Cell, value_of
from lsg_reporting.domain.periods import PERIOD_KINDS
from lsg_reporting.domain.rules import Extractor
from lsg_shared import outbox
from lsg_shared.consumer import Batch, EventConsumer, Record
from lsg_shared.db import Conn

log = logging.getLogger(__name__)
loop_time = time_module.monotonic
_PUBLISH_LOCK = 0x15_65_0404


def until_of(as_of: date | datetime | None) -> datetime:
    """The exclusive upper bound of `valid_from` for "as it stood on": a date means the end of that day."""
    if as_of is None:
        return datetime.now(UTC) + timedelta(microseconds=1)
    if isinstance(as_of, datetime):
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        return moment + timedelta(microseconds=1)
    return datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass
class Aggregator:
    """Applies events to the facts: the one-by-one path (`handle`, in the inbox claim's transaction)."""

    extractor: Extractor
    _areas_seen: set[tuple[str, str]] = field(default_factory=set)

    async def handle_batch(self, conn: Conn, events: Sequence[CloudEvent]) -> None:
        facts = self.extractor.facts(events)
        await repo.insert_facts(conn, facts)
        await repo.mark_dirty(conn, {f.code for f in facts})
        await self.record_areas(conn, events)

    async def handle(self, conn: Conn, event: CloudEvent) -> None:
        await self.handle_batch(conn, [event])

    def new_areas(self, events: Sequence[CloudEvent]) -> list[tuple[str, str, str | None, str]]:
        places = [p for e in events if (p := getattr(e.data, "place", None)) is not None]
        return repo.area_rows(places, self._areas_seen)

    def areas_recorded(self, rows: Sequence[tuple[str, str, str | None, str]]) -> None:
        self._areas_seen.update((r[0], r[1]) for r in rows)

    async def record_areas(self, conn: Conn, events: Sequence[CloudEvent]) -> None:
        rows = self.new_areas(events)
        if rows:
            await repo.upsert_areas(conn, rows)
            self.areas_recorded(rows)


class FactBatch(Batch):
    """A chunk of records as the reporting consumer prepares it while decoding: facts extracted already.

    An event the rules reject (a Likert value outside 1-5) raises PoisonMessage from `add` and is
    dead-lettered alone; a second copy of an event inside the chunk is kept for the inbox (it counts as a
    duplicate) but contributes no facts.
    """

    __slots__ = ("extractor", "facts", "ids")

    def __init__(self, extractor: Extractor) -> None:
        super().__init__()
        self.extractor = extractor
        self.facts: list[tuple[Any, ...]] = []  # as repository.ingest takes them (times as timestamps)
        self.ids: set[tuple[str, str]] = set()

    def add(self, record: Record, event: CloudEvent) -> None:
        ident = (event.source, event.id)
        if ident not in self.ids:
            facts = self.facts
            before = len(facts)
            try:
                self.extractor.extend(facts, event, epoch=True)
            except BaseException:
                del facts[before:]
                raise
            self.ids.add(ident)
        super().add(record, event)


class ReportingConsumer(EventConsumer):
    """The shared consumer with the reporting service's batch path.

    While a chunk is decoded its facts are extracted (`FactBatch`), so a record the rules reject is
    dead-lettered at once and the rest of its chunk is applied set-based as usual; the chunk is then
    applied with one statement (`repository.ingest`): inbox claim, facts, dirty marks and area names.
    """

    def __init__(self, *args: Any, aggregator: Aggregator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aggregator = aggregator

    def new_batch(self) -> FactBatch:
        return FactBatch(self.aggregator.extractor)

    async def apply_batch(self, conn: Conn, batch: Batch) -> Mapping[str, int]:
        assert isinstance(batch, FactBatch)
        events = batch.events
        areas = self.aggregator.new_areas(events)
        columns = ([e.source for e in events], [e.id for e in events], [e.data.event_type for e in events])
        fresh = await repo.ingest(conn, self.name, columns, batch.facts, areas)
        self.aggregator.areas_recorded(areas)
        return fresh


def _area_of(cell: Cell) -> tuple[AreaLevel, str]:
    if cell.dim == "total":
        return AreaLevel.COUNTRY, "ALL"  # the programme as a whole
    return AreaLevel(cell.dim), cell.dim_value


@dataclass
class FigurePublisher:
    """Publishes `indicator.updated` (through the outbox) for every figure that changed since last time.

    Batches mark the indicators they touch; a run recomputes those indicators' figures (period x area) from
    the facts, compares them with what was last published and enqueues the differences, all in one
    transaction. Decoupling this from the consumer keeps the aggregation fast under load while every
    change is still published (debounced by `interval_s`).
    """

    catalogue: Catalogue
    source: str
    interval_s: float = 2.0
    # While the consumer catches up on a backlog, runs wait (at most this long since the last one): a run
    # recomputes whole indicators, so under a flood of events it is work per run, not per event, and the
    # figures published at the end are the same.
    max_delay_s: float = 120.0
    busy: Callable[[], bool] = field(default=lambda: False)

    async def run(self, pool_provider: Callable[[], asyncpg.Pool]) -> None:
        pause = self.interval_s
        last = loop_time()
        while True:
            await asyncio.sleep(pause)
            if self.busy() and loop_time() - last < self.max_delay_s:
                pause = self.interval_s
                continue
            started = last = loop_time()
            try:
                await self.publish_once(pool_provider())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("indicator publication failed; will retry", exc_info=True)
            # A run recomputes whole indicators from their facts: pace the runs so they take at most a
            # quarter of the time (a tenth while the consumer catches up) and the aggregation keeps the rest.
            pause = max(self.interval_s, (9 if self.busy() else 3) * (loop_time() - started))

    async def publish_once(self, pool: asyncpg.Pool) -> int:
        by_code = self.catalogue.by_code()
        async with pool.acquire() as conn:
            dirty = await conn.fetch("SELECT code, version FROM dirty_indicator")
            if not dirty:
                return 0
            indicators = [by_code[r["code"]] for r in dirty if r["code"] in by_code]
            as_of = datetime.now(UTC)
            cells = await repo.cells(
                conn, indicators, until=until_of(as_of), period_kinds=PERIOD_KINDS, dims=AREA_DIMENSIONS
            )
            async with conn.transaction():
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _PUBLISH_LOCK):
                    return 0
                events = await self._diff_and_record(conn, indicators, cells, as_of)
                await outbox.enqueue(conn, *events)
                await conn.execute(
                    """
                    DELETE FROM dirty_indicator d USING unnest($1::text[], $2::bigint[]) AS u(code, version)
                    WHERE d.code = u.code AND d.version = u.version
                    """,
                    [r["code"] for r in dirty],
                    [r["version"] for r in dirty],
                )
        return len(events)

    async def _diff_and_record(
        self, conn: Conn, indicators: Sequence[Indicator], cells: Sequence[Cell], as_of: datetime
    ) -> list[CloudEvent]:
        codes = [i.code for i in indicators]
        by_code = {i.code: i for i in indicators}
        old = {
            (r["code"], r["period"], r["area_level"], r["area_code"]): (r["num"], r["den"])
            for r in await conn.fetch(
                "SELECT code, period, area_level, area_code, num, den FROM emitted_figure WHERE code = ANY($1)", codes
            )
        }
        new: dict[tuple[str, str, str, str], tuple[float, float]] = {}
        for cell in cells:
            level, code = _area_of(cell)
            new[(cell.code, cell.period, level.value, code)] = (cell.num, cell.den)
        for key in old:
            new.setdefault(key, (0.0, 0.0))  # a figure that lost all its facts is published as empty
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        events = []
        for (code, period, level_name, area), (num, den) in sorted(changed.items()):
            ind = by_code[code]
            data = IndicatorUpdated(
                key=f"{code}|{period}|{level_name}:{area}",
                code=code,
                period=period,
                area_level=AreaLevel(level_name),
                area_code=area,
                value=value_of(ind, num, den),
                numerator=num,
                denominator=den,
                target=ind.target,
                unit=ind.unit,
                as_of=as_of,
            )
            events.append(CloudEvent(data=data, source=self.source, time=as_of))
        if changed:
            items = sorted(changed.items())
            await conn.execute(
                """
                INSERT INTO emitted_figure (code, period, area_level, area_code, num, den)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[])
                ON CONFLICT (code, period, area_level, area_code)
                DO UPDATE SET num = EXCLUDED.num, den = EXCLUDED.den, emitted_at = now()
                """,
                [k[0] for k, _ in items],
                [k[1] for k, _ in items],
                [k[2] for k, _ in items],
                [k[3] for k, _ in items],
                [v[0] for _, v in items],
                [v[1] for _, v in items],
            )
        return events
