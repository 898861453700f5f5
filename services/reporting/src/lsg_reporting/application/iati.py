"""The IATI 2.03 activity file's data: results (the progress summaries, with a country dimension for counts of
things), budget per reporting period, transactions from verified expenditure, status and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lsg_reporting.adapters import finance as fin
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.application.reports import progress
from lsg_reporting.domain import iati as rules
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.finance import ZERO
from lsg_reporting.domain.iati import Activity
from lsg_reporting.domain.periods import day_of, until_of
from lsg_reporting.domain.progress import programme_quarters
from lsg_reporting.domain.report_periods import periods
from lsg_shared.uow import UnitOfWork


async def activity(uow: UnitOfWork, catalogue: Catalogue, as_of: date | datetime | None) -> Activity:
    prog = catalogue.programme
    on = day_of(as_of) if as_of is not None else datetime.now(UTC).date()
    summaries = await progress(uow, catalogue, as_of)
    things = [i for i in catalogue.indicators if i.aggregation == "sum" and i.persons == "none"]
    async with uow.read() as conn:
        version = await fin.budget_version(conn)
        lines = await fin.budget_lines(conn, version["version"]) if version is not None else []
        entries = await fin.entries(conn, until=on)
        states = await fin.report_states(conn)
        cells = await pg.cells(conn, things, until=until_of(as_of), period_kinds=["quarter"], dims=["country"])
    the_periods = periods(prog.start, prog.end)
    closed = bool(the_periods) and states.get(the_periods[-1].period_id) == "approved"
    quarters = programme_quarters(catalogue)
    in_quarter: dict[tuple[str, str], dict[str, float]] = {}
    for c in cells:
        in_quarter.setdefault((c.code, c.period), {})[c.dim_value] = c.num
    by_country: dict[tuple[str, str], dict[str, float]] = {}
    for ind in things:
        running: dict[str, float] = {}
        for q in quarters:
            now = in_quarter.get((ind.code, q), {})
            if ind.cumulative:
                for country, value in now.items():
                    running[country] = running.get(country, 0.0) + value
                by_country[(ind.code, q)] = dict(running)
            else:
                by_country[(ind.code, q)] = dict(now)
    total = sum((b.amount for b in lines), ZERO)
    return Activity(
        on=on,
        summaries=summaries,
        status=rules.activity_status(on, prog.start, prog.end, closed),
        dates=rules.activity_dates(on, prog.start, prog.end),
        countries=rules.country_shares(lines),
        budgets=rules.budget_per_period(total, the_periods) if total > 0 else [],
        transactions=rules.transactions(entries),
        by_country=by_country,
    )
