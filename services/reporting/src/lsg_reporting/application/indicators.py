"""Reads of one indicator: its figures by period and breakdown (suppressed for the public), and the events
behind a figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lsg_reporting.adapters import postgres as pg
from lsg_reporting.application.errors import InvalidValue, NotFound
from lsg_reporting.domain.catalogue import Catalogue, Indicator
from lsg_reporting.domain.figures import ALL_DIMENSIONS, AREA_DIMENSIONS, Cell, suppress
from lsg_reporting.domain.periods import PeriodKind, parse_period, until_of
from lsg_shared.auth import Principal
from lsg_shared.uow import UnitOfWork

BREAKDOWN_ALIASES = {"language": "tag", "module": "tag", "status": "tag", "area": "country", "none": "total"}


@dataclass
class Breakdown:
    """An indicator's cells for one period and dimension, with the names of the areas they are about."""

    indicator: Indicator
    dim: str
    cells: list[Cell]
    names: dict[tuple[str, str], dict[str, str]]


def indicator_of(catalogue: Catalogue, code: str) -> Indicator:
    indicator = catalogue.by_code().get(code)
    if indicator is None:
        raise NotFound("indicator", code)
    return indicator


def period_of(period: str) -> tuple[PeriodKind, str | None]:
    try:
        return parse_period(period)
    except ValueError as exc:
        raise InvalidValue("period", str(exc)) from None


def dimension_of(indicator: Indicator, breakdown: str) -> str:
    """The dimension a `breakdown` names (aliases resolved), if the indicator can be broken down by it."""
    dim = BREAKDOWN_ALIASES.get(breakdown, breakdown)
    allowed = AREA_DIMENSIONS if indicator.aggregation == "availability" else ALL_DIMENSIONS
    if dim not in allowed:
        raise InvalidValue("breakdown", f"{breakdown!r}: expected one of {', '.join(allowed)}")
    return dim


def _in_scope(principal: Principal, cell: Cell) -> bool:
    if cell.dim == "country":
        return principal.may_act_in(cell.dim_value)
    if cell.dim == "municipality":
        return principal.may_act_in(cell.parent, cell.dim_value)
    return not principal.countries and not principal.municipalities


async def breakdown(
    uow: UnitOfWork,
    indicator: Indicator,
    *,
    period: tuple[PeriodKind, str | None],
    dim: str,
    as_of: date | datetime | None,
    area: tuple[str, str] | None,
    raw_for: Principal | None,
) -> Breakdown:
    """The cells as they stood at `as_of`; suppressed (small cells hidden) unless `raw_for` a viewer, whose
    area scope then limits them."""
    kind, key = period
    async with uow.read() as conn:
        cells = await pg.cells(
            conn, [indicator], until=until_of(as_of), period_kinds=[kind], dims=[dim], period=key, area=area
        )
        names = await pg.area_names(conn, dim) if dim in AREA_DIMENSIONS[1:] else {}
    cells.sort(key=lambda c: (c.period, c.parent, c.dim_value))
    if raw_for is not None and (raw_for.countries or raw_for.municipalities):
        cells = [c for c in cells if _in_scope(raw_for, c)]  # a scoped viewer sees raw cells of its areas only
    if raw_for is None:
        cells = suppress(indicator, cells)
    return Breakdown(indicator, dim, cells, names)


async def sources(
    uow: UnitOfWork,
    code: str,
    *,
    period: tuple[PeriodKind, str | None],
    as_of: date | datetime | None,
    area: tuple[str, str] | None,
    include_superseded: bool,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """How many events are behind the figure, and one page of them (newest event time first)."""
    kind, key = period
    async with uow.read() as conn:
        return await pg.sources(
            conn,
            code,
            until=until_of(as_of),
            period=key,
            period_kind=kind,
            area=area,
            limit=limit,
            offset=offset,
            include_superseded=include_superseded,
        )
