"""The work plan on an as-of day (dates, statuses, expected lines, slippage flags) and the burn next to the output
progress: the figures come from the facts in force at `as_of` (the progress report's), the period approvals and
the expenditure declared until that day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from lsg_reporting.adapters import finance as fin
from lsg_reporting.application import reports
from lsg_reporting.domain import workplan as rules
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.periods import day_of
from lsg_shared.uow import UnitOfWork


async def actuals(uow: UnitOfWork, catalogue: Catalogue, as_of: date | datetime | None) -> dict[str, float | None]:
    return {s.indicator.code: s.actual for s in await reports.progress(uow, catalogue, as_of)}


async def burn_progress(
    uow: UnitOfWork, catalogue: Catalogue, plan: rules.WorkPlan, as_of: date | datetime | None
) -> dict[str, Any]:
    """Spent %, time % and output progress % with the forecast, per partner (monthly) and work package."""
    day = day_of(as_of)
    values = await actuals(uow, catalogue, as_of)
    async with uow.read() as conn:
        version = await fin.budget_version(conn)
        lines = await fin.budget_lines(conn, version["version"]) if version is not None else []
        entries = await fin.entries(conn, until=day)
    return rules.burn_progress(catalogue, plan, day, lines, entries, values)


async def view(
    uow: UnitOfWork, catalogue: Catalogue, plan: rules.WorkPlan, as_of: date | datetime | None
) -> dict[str, Any]:
    """The plan with its flags on `as_of` (today when none), and the burn summary (no person, no entry)."""
    day = day_of(as_of)
    values = await actuals(uow, catalogue, as_of)
    async with uow.read() as conn:
        approved = await fin.report_approvals(conn)
        version = await fin.budget_version(conn)
        lines = await fin.budget_lines(conn, version["version"]) if version is not None else []
        entries = await fin.entries(conn, until=day)
    out = rules.evaluate(plan, catalogue, day, values, approved)
    out["burn"] = rules.burn_progress(catalogue, plan, day, lines, entries, values)
    return out
