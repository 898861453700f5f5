"""The programme progress report: every indicator's summary as the figures stood on a day (or now)."""

from __future__ import annotations

from datetime import date, datetime

from lsg_reporting.adapters import postgres as pg
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.periods import day_of, until_of
from lsg_reporting.domain.progress import Summary, summarise
from lsg_shared.uow import UnitOfWork


async def progress(uow: UnitOfWork, catalogue: Catalogue, as_of: date | datetime | None = None) -> list[Summary]:
    """Each indicator's actual, expectation, RAG and quarterly series from the facts in force at `as_of`."""
    async with uow.read() as conn:
        cells = await pg.cells(
            conn, catalogue.indicators, until=until_of(as_of), period_kinds=["programme", "quarter"], dims=["total"]
        )
        updates = await pg.last_update(conn)
    return summarise(catalogue, cells, updates, day_of(as_of))
