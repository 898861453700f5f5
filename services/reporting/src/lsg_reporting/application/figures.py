"""Publication of changed figures: `indicator.updated` (through the outbox) for every figure that changed."""

from __future__ import annotations

import asyncio
import logging
import time as time_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from lsg_events import CloudEvent
from lsg_events.geography import AreaLevel
from lsg_events.reporting import IndicatorUpdated
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.domain.catalogue import Catalogue, Indicator
from lsg_reporting.domain.figures import AREA_DIMENSIONS, Cell, value_of
from lsg_reporting.domain.periods import PERIOD_KINDS, until_of
from lsg_shared.uow import UnitOfWork

log = logging.getLogger(__name__)
loop_time = time_module.monotonic

FigureKey = tuple[str, str, str, str]  # code, period, area level, area code


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
        return await self.publish_changes(UnitOfWork(pool, self.source))

    async def publish_changes(self, uow: UnitOfWork) -> int:
        """One run: returns how many figures were published (0 when nothing changed or another run is on)."""
        by_code = self.catalogue.by_code()
        async with uow.read() as conn:
            dirty = await pg.dirty_indicators(conn)
            if not dirty:
                return 0
            indicators = [by_code[code] for code, _ in dirty if code in by_code]
            as_of = datetime.now(UTC)
            cells = await pg.cells(
                conn, indicators, until=until_of(as_of), period_kinds=PERIOD_KINDS, dims=AREA_DIMENSIONS
            )
        async with uow.begin() as tx:
            if not await pg.try_publication_lock(tx.conn):
                return 0
            old = await pg.emitted_figures(tx.conn, [i.code for i in indicators])
            changed = self._changed(old, cells)
            await pg.record_emitted(tx.conn, changed)
            events = [self._event(by_code[key[0]], key, figure, as_of) for key, figure in changed]
            await tx.emit(*events)
            await pg.clear_dirty(tx.conn, dirty)
        return len(events)

    @staticmethod
    def _changed(
        old: dict[FigureKey, tuple[float, float]], cells: Sequence[Cell]
    ) -> list[tuple[FigureKey, tuple[float, float]]]:
        new: dict[FigureKey, tuple[float, float]] = {}
        for cell in cells:
            level, code = _area_of(cell)
            new[(cell.code, cell.period, level.value, code)] = (cell.num, cell.den)
        for key in old:
            new.setdefault(key, (0.0, 0.0))  # a figure that lost all its facts is published as empty
        return sorted((k, v) for k, v in new.items() if old.get(k) != v)

    def _event(self, indicator: Indicator, key: FigureKey, figure: tuple[float, float], as_of: datetime) -> CloudEvent:
        code, period, level_name, area = key
        num, den = figure
        data = IndicatorUpdated(
            key=f"{code}|{period}|{level_name}:{area}",
            code=code,
            period=period,
            area_level=AreaLevel(level_name),
            area_code=area,
            value=value_of(indicator, num, den),
            numerator=num,
            denominator=den,
            target=indicator.target,
            unit=indicator.unit,
            as_of=as_of,
        )
        return CloudEvent(data=data, source=self.source, time=as_of)
