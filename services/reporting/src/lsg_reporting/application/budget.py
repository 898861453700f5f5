"""The budget: versions of lines per partner x cost category x work package, each with a reason and approver.

A reallocation is a new version (the whole set of lines); the highest version is in force.
"""

from __future__ import annotations

from typing import Any

from lsg_reporting.adapters import finance as fin
from lsg_reporting.application.errors import InvalidValue, NotFound
from lsg_reporting.domain.finance import (
    CO_FINANCING_RATE,
    BudgetLine,
    FinanceRuleError,
    budget_totals,
    check_budget,
    split,
)
from lsg_shared.uow import UnitOfWork


async def new_version(uow: UnitOfWork, lines: list[BudgetLine], *, reason: str, approved_by: str) -> dict[str, Any]:
    """Store the lines as the next budget version, approved by `approved_by` for `reason`."""
    try:
        checked = check_budget(lines)
    except FinanceRuleError as exc:
        raise InvalidValue(exc.field, exc.message) from None
    if not reason.strip():
        raise InvalidValue("reason", "say why the budget changes")
    async with uow.begin() as tx:
        version = await fin.add_budget_version(
            tx.conn, checked, reason=reason, approved_by=approved_by, co_financing=CO_FINANCING_RATE
        )
    return await current(uow, version)


async def current(uow: UnitOfWork, version: int | None = None) -> dict[str, Any]:
    """A budget version (default: in force) with its lines, totals and co-financing split."""
    async with uow.read() as conn:
        row = await fin.budget_version(conn, version)
        if row is None:
            raise NotFound("budget version", version if version is not None else "in force")
        lines = await fin.budget_lines(conn, row["version"])
    totals = budget_totals(lines)
    out_lines = []
    for b in lines:
        programme, own = split(b.amount, row["co_financing"])
        out_lines.append(
            {
                "partner": b.partner,
                "category": b.category,
                "work_package": b.work_package,
                "amount": str(b.amount),
                "programme": str(programme),
                "own": str(own),
            }
        )
    return {
        "version": row["version"],
        "reason": row["reason"],
        "approved_by": row["approved_by"],
        "approved_at": row["created_at"].isoformat(),
        "co_financing_rate": str(row["co_financing"]),
        "lines": out_lines,
        "totals": _text(totals),
    }


async def versions(uow: UnitOfWork) -> list[dict[str, Any]]:
    async with uow.read() as conn:
        rows = await fin.budget_versions(conn)
    return [
        {
            "version": r["version"],
            "reason": r["reason"],
            "approved_by": r["approved_by"],
            "approved_at": r["created_at"].isoformat(),
            "total": str(r["total"]),
        }
        for r in rows
    ]


def _text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _text(v) for k, v in value.items()}
    return str(value)
