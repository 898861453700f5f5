"""Reporting periods, the period report's workflow and the lock an approval puts on a period.

The programme reports in two periods of six months (P1, P2). A report goes Draft -> Submitted -> In
verification -> Approved (a controller may return it to Draft before approval). An approved period is LOCKED:
its report is frozen (the stored snapshot is what every later request returns), and an expenditure entry dated
in it, or correcting one of its entries, is declared in the first later period still open, where it shows as an
adjustment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from lsg_reporting.domain.finance import ZERO, Entry

Status = Literal["draft", "submitted", "in_verification", "approved"]
Action = Literal["submit", "start_verification", "return", "approve"]
Role = Literal["editor", "admin"]

# action -> (from states, to state, role needed). The first-level controller acts with the admin role
# (lsg_shared.auth knows viewer < editor < admin only).
TRANSITIONS: dict[Action, tuple[tuple[Status, ...], Status, Role]] = {
    "submit": (("draft",), "submitted", "editor"),
    "start_verification": (("submitted",), "in_verification", "admin"),
    "return": (("submitted", "in_verification"), "draft", "admin"),
    "approve": (("in_verification",), "approved", "admin"),
}


class WorkflowError(ValueError):
    """A transition the workflow refuses."""


@dataclass(frozen=True)
class ReportingPeriod:
    period_id: str
    start: date
    end: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def periods(start: date, end: date, months: int = 6) -> list[ReportingPeriod]:
    """The programme's reporting periods: consecutive blocks of `months` from the start, the last cut at the end."""
    out: list[ReportingPeriod] = []
    first = start
    while first <= end:
        nxt = _add_months(first.replace(day=1), months)
        last = min(nxt - timedelta(days=1), end)
        out.append(ReportingPeriod(f"P{len(out) + 1}", first, last))
        first = last + timedelta(days=1)
    return out


def transition(status: Status, action: Action) -> Status:
    allowed, target, _ = TRANSITIONS[action]
    if status not in allowed:
        raise WorkflowError(f"cannot {action.replace('_', ' ')} a report that is {status.replace('_', ' ')}")
    return target


def declared_in(spent_on: date, all_periods: Sequence[ReportingPeriod], status: Mapping[str, str]) -> str:
    """The period an entry dated `spent_on` (or correcting an entry of that date) is declared in.

    Its own period while that is open (draft); past a locked (approved) period, the first later open one. A
    period under review (submitted, in verification) takes no new entry: raises WorkflowError.
    """
    own = next((p for p in all_periods if p.contains(spent_on)), None)
    if own is None:
        raise WorkflowError(f"{spent_on.isoformat()} is outside the programme's reporting periods")
    for p in all_periods[all_periods.index(own) :]:
        state = status.get(p.period_id, "draft")
        if state == "draft":
            return p.period_id
        if state != "approved":
            raise WorkflowError(f"period {p.period_id} is {state.replace('_', ' ')}: no entry can be added to it now")
    raise WorkflowError("every reporting period from the entry's date on is approved (locked)")


@dataclass(frozen=True)
class Line:
    """One entry as a period report lists it: what it adds to the period's totals."""

    entry: Entry
    superseded: bool
    adjustment_of: str | None  # the period of the corrected entry when that period was locked
    counts: Decimal  # declared in this period (a correction of a locked period's entry: the difference)
    eligible: Decimal | None  # eligible in this period (likewise a difference), None while not verified


def period_lines(period_id: str, entries: Sequence[Entry]) -> list[Line]:
    """The expenditure of one period: its entries, each with what it counts here.

    An entry superseded by a correction in the SAME period counts nothing; a correction of an entry declared in
    an earlier (locked) period counts the difference to that entry, as an adjustment of that period.
    """
    by_id = {e.entry_id: e for e in entries}
    corrected_by: dict[str, str] = {e.corrects: e.entry_id for e in entries if e.corrects}
    out: list[Line] = []
    for e in sorted(entries, key=lambda x: (x.spent_on, x.entry_id)):
        if e.period_id != period_id:
            continue
        superseded = e.entry_id in corrected_by and by_id[corrected_by[e.entry_id]].period_id == period_id
        before = by_id.get(e.corrects) if e.corrects else None
        if superseded:
            out.append(Line(e, True, None, ZERO, ZERO if e.verified else None))
        elif before is not None and before.period_id != period_id:
            # the corrected entry was reported in a locked period: count what changes
            prior = _reported(before, by_id)
            eligible = None if e.eligible_eur is None else e.eligible_eur - prior[1]
            out.append(Line(e, False, before.period_id, e.amount_eur - prior[0], eligible))
        else:
            out.append(Line(e, False, None, e.amount_eur, e.eligible_eur))
    return out


def _reported(entry: Entry, by_id: Mapping[str, Entry]) -> tuple[Decimal, Decimal]:
    """(declared, eligible) an entry stood for in the period that reported it."""
    return entry.amount_eur, entry.eligible_eur if entry.eligible_eur is not None else entry.amount_eur


def unverified(lines: Sequence[Line]) -> list[str]:
    """Entries of a period still waiting for first-level control (approval needs none)."""
    return [ln.entry.entry_id for ln in lines if not ln.superseded and not ln.entry.verified]


def indicator_adjustments(
    approved: Mapping[str, Mapping[str, float | None]], now: Mapping[str, Mapping[str, float | None]]
) -> list[dict[str, object]]:
    """Quarterly figures of a locked period as they stand now against what its approved report said.

    `approved` and `now`: indicator code -> quarter -> value. Each difference is an adjustment the next
    period's report shows; the approved report itself never changes.
    """
    out: list[dict[str, object]] = []
    for code in sorted(approved):
        for quarter in sorted(approved[code]):
            before = approved[code][quarter]
            after = now.get(code, {}).get(quarter)
            if before != after:
                delta = None if before is None or after is None else round(after - before, 6)
                out.append({"code": code, "quarter": quarter, "approved": before, "now": after, "delta": delta})
    return out
