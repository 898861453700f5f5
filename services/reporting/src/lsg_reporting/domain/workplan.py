"""The work plan as data and its rules: work packages -> activities -> deliverables with planned dates, every
targeted indicator linked to one activity with milestones, and the slippage flags on an as-of day.

The plan ships as ``workplan.yaml`` (like the indicator catalogue) and is checked against the catalogue and the
money's work packages when loaded. The expected line of an indicator is a step line: its baseline (0 when none)
until the first milestone, then the value of the latest milestone reached; periodic indicators (percentages,
means) have no expectation before their first milestone. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lsg_events.i18n import LocalizedText
from lsg_reporting.domain import finance as money
from lsg_reporting.domain.catalogue import Catalogue, Indicator
from lsg_reporting.domain.finance import WORK_PACKAGES, BudgetLine, Entry

DeliverableStatus = Literal["planned", "delivered", "overdue"]
ActivityPhase = Literal["not_started", "running", "ended"]


class PlanMilestone(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    date: date
    value: float


class Deliverable(BaseModel):
    """A dated output. Delivered when its indicator reaches `value`, or when the period report `period` is
    approved (management deliverables)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^D[0-9]\.[0-9]+\.[0-9]+$")
    title: LocalizedText
    due: date
    indicator: str | None = None
    value: float | None = None
    period: str | None = Field(None, pattern=r"^P[0-9]{1,2}$")

    @model_validator(mode="after")
    def _evidence(self) -> Deliverable:
        if (self.indicator is None) == (self.period is None):
            raise ValueError(f"deliverable {self.code}: name either an indicator (with value) or a period")
        if self.indicator is not None and self.value is None:
            raise ValueError(f"deliverable {self.code}: an indicator needs the value that delivers it")
        return self


class Activity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^A[0-9]\.[0-9]+$")
    title: LocalizedText
    start: date
    end: date
    indicators: dict[str, list[PlanMilestone]] = Field(default_factory=dict)
    deliverables: list[Deliverable] = Field(default_factory=list)


class PlannedPackage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    activities: list[Activity] = Field(min_length=1)


class WorkPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    work_packages: list[PlannedPackage]

    def activities(self) -> list[tuple[str, Activity]]:
        return [(wp.code, a) for wp in self.work_packages for a in wp.activities]

    def links(self) -> dict[str, tuple[str, str]]:
        """Indicator code -> (work package, activity)."""
        return {code: (wp, a.code) for wp, a in self.activities() for code in a.indicators}


class PlanError(ValueError):
    pass


def check(plan: WorkPlan, catalogue: Catalogue) -> WorkPlan:
    """The plan against the catalogue and the money's work packages; raises PlanError naming what is wrong."""
    prog = catalogue.programme
    by_code = catalogue.by_code()
    codes = [wp.code for wp in plan.work_packages]
    if sorted(codes) != sorted(WORK_PACKAGES):
        raise PlanError(f"work packages {codes} are not the budget's {list(WORK_PACKAGES)}")
    seen: dict[str, str] = {}
    names: set[str] = set()
    for _, act in plan.activities():
        where = f"activity {act.code}"
        if act.code in names:
            raise PlanError(f"{where} is defined twice")
        names.add(act.code)
        if not prog.start <= act.start <= act.end <= prog.end:
            raise PlanError(f"{where}: {act.start}..{act.end} is not inside the programme {prog.start}..{prog.end}")
        for code, milestones in act.indicators.items():
            ind = by_code.get(code)
            if ind is None:
                raise PlanError(f"{where}: unknown indicator {code}")
            if code in seen:
                raise PlanError(f"indicator {code} is linked to {seen[code]} and {act.code}")
            seen[code] = act.code
            _check_milestones(where, ind, act, milestones)
        for d in act.deliverables:
            if d.code in names:
                raise PlanError(f"deliverable {d.code} is defined twice")
            names.add(d.code)
            if not act.start <= d.due <= act.end:
                raise PlanError(f"deliverable {d.code}: due {d.due} outside {where} ({act.start}..{act.end})")
            if d.indicator is not None:
                if d.indicator not in act.indicators:
                    raise PlanError(f"deliverable {d.code}: {d.indicator} is not linked to {where}")
                target = by_code[d.indicator].target
                if target is not None and d.value is not None and d.value > target:
                    raise PlanError(f"deliverable {d.code}: value {d.value} above the target {target}")
    missing = [i.code for i in catalogue.indicators if i.target is not None and i.code not in seen]
    if missing:
        raise PlanError(f"targeted indicators linked to no activity: {', '.join(missing)}")
    return plan


def _check_milestones(where: str, ind: Indicator, act: Activity, milestones: list[PlanMilestone]) -> None:
    if not milestones:
        raise PlanError(f"{where}: {ind.code} needs at least one milestone")
    dates = [m.date for m in milestones]
    if dates != sorted(set(dates)):
        raise PlanError(f"{where}: {ind.code}'s milestones are not in date order")
    if not (act.start <= dates[0] and dates[-1] <= act.end):
        raise PlanError(f"{where}: {ind.code}'s milestones fall outside the activity")
    if ind.cumulative:
        values = [m.value for m in milestones]
        if values != sorted(values):
            raise PlanError(f"{where}: {ind.code}'s milestones decrease")
    if ind.target is not None and milestones[-1].value != ind.target:
        raise PlanError(f"{where}: {ind.code}'s last milestone {milestones[-1].value} is not its target {ind.target}")
    own = ind.milestone
    if own is not None and PlanMilestone(date=own.date, value=own.value) not in milestones:
        raise PlanError(f"{where}: {ind.code} misses the catalogue's milestone {own.date}")


def load(catalogue: Catalogue, path: str | Path | None = None) -> WorkPlan:
    """The plan at `path`, or the one shipped with the service, checked against `catalogue`."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("lsg_reporting.domain").joinpath("workplan.yaml").read_text(encoding="utf-8")
    return check(WorkPlan.model_validate(yaml.safe_load(text)), catalogue)


# ---- rules on an as-of day -----------------------------------------------------------------------------------
def expected_on(ind: Indicator, milestones: list[PlanMilestone], on: date) -> float | None:
    """The step line: the latest milestone reached on `on`; before the first, the baseline (cumulative
    indicators) or no expectation (periodic ones)."""
    reached = [m.value for m in milestones if m.date <= on]
    if reached:
        return reached[-1]
    return (ind.baseline or 0.0) if ind.cumulative else None


def below_line(ind: Indicator, actual: float | None, expected: float | None) -> bool:
    """Behind the expected line: no figure where one is expected, or short of it (past it when descending)."""
    if expected is None:
        return False
    if actual is None:
        return True
    return actual < expected if ind.ascending else actual > expected


def phase(start: date, end: date, on: date) -> ActivityPhase:
    return "not_started" if on < start else "ended" if on > end else "running"


def elapsed_pct(start: date, end: date, on: date) -> float:
    days = (end - start).days + 1
    return round(min(max((on - start).days + 1, 0), days) / days * 100, 2)


def deliverable_status(
    d: Deliverable, on: date, actuals: Mapping[str, float | None], approved: Mapping[str, date]
) -> DeliverableStatus:
    """Delivered (its indicator reached its value, or its period report approved by `on`); overdue once the due
    date has passed without it; planned otherwise."""
    if d.indicator is not None:
        actual = actuals.get(d.indicator)
        done = actual is not None and d.value is not None and actual >= d.value
    else:
        when = approved.get(d.period or "")
        done = when is not None and when <= on
    if done:
        return "delivered"
    return "overdue" if on > d.due else "planned"


def output_progress_pct(catalogue: Catalogue, codes: list[str], actuals: Mapping[str, float | None]) -> float | None:
    """Mean progress (capped at 100 %) of the cumulative output indicators among `codes`; None when there are none."""
    by_code = catalogue.by_code()
    shares = []
    for code in codes:
        ind = by_code[code]
        if ind.result_type != "output" or not ind.cumulative or not ind.target:
            continue
        actual = actuals.get(code) or 0.0
        shares.append(min(100.0, max(0.0, 100.0 * actual / ind.target)))
    return round(sum(shares) / len(shares), 2) if shares else None


@dataclass(frozen=True)
class Flag:
    kind: Literal["deliverable_overdue", "below_expected"]
    work_package: str
    activity: str
    ref: str  # deliverable or indicator code
    due: date | None = None
    actual: float | None = None
    expected: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "work_package": self.work_package,
            "activity": self.activity,
            "ref": self.ref,
            "due": self.due.isoformat() if self.due else None,
            "actual": self.actual,
            "expected": self.expected,
        }


def evaluate(
    plan: WorkPlan,
    catalogue: Catalogue,
    on: date,
    actuals: Mapping[str, float | None],
    approved: Mapping[str, date],
) -> dict[str, Any]:
    """The plan as it stood on `on`: per work package, activity, deliverable and linked indicator the dates,
    status, expected line and flags; every flag also in one list (`slippage`)."""
    by_code = catalogue.by_code()
    flags: list[Flag] = []
    packages = []
    for wp in plan.work_packages:
        activities = []
        wp_codes: list[str] = []
        for act in wp.activities:
            indicators = []
            act_flags: list[Flag] = []
            for code, milestones in act.indicators.items():
                ind = by_code[code]
                actual = actuals.get(code)
                if actual is None and ind.aggregation == "sum":
                    actual = 0.0  # nothing counted yet
                exp = expected_on(ind, milestones, on)
                behind = below_line(ind, actual, exp)
                if behind:
                    act_flags.append(Flag("below_expected", wp.code, act.code, code, actual=actual, expected=exp))
                indicators.append(
                    {
                        "code": code,
                        "title": ind.title.model_dump(),
                        "unit": ind.unit,
                        "target": ind.target,
                        "actual": None if actual is None else round(actual, ind.decimals),
                        "expected": exp,
                        "below_expected": behind,
                        "milestones": [m.model_dump(mode="json") for m in milestones],
                    }
                )
            wp_codes.extend(act.indicators)
            deliverables = []
            for d in act.deliverables:
                status = deliverable_status(d, on, actuals, approved)
                if status == "overdue":
                    act_flags.append(Flag("deliverable_overdue", wp.code, act.code, d.code, due=d.due))
                deliverables.append(
                    {
                        "code": d.code,
                        "title": d.title.model_dump(),
                        "due": d.due.isoformat(),
                        "indicator": d.indicator,
                        "value": d.value,
                        "period": d.period,
                        "status": status,
                    }
                )
            flags.extend(act_flags)
            activities.append(
                {
                    "code": act.code,
                    "title": act.title.model_dump(),
                    "start": act.start.isoformat(),
                    "end": act.end.isoformat(),
                    "phase": phase(act.start, act.end, on),
                    "time_pct": elapsed_pct(act.start, act.end, on),
                    "output_progress_pct": output_progress_pct(catalogue, list(act.indicators), actuals),
                    "slipping": bool(act_flags),
                    "indicators": indicators,
                    "deliverables": deliverables,
                }
            )
        starts = [a.start for a in wp.activities]
        ends = [a.end for a in wp.activities]
        packages.append(
            {
                "code": wp.code,
                "title": dict(WORK_PACKAGES[wp.code].title),
                "start": min(starts).isoformat(),
                "end": max(ends).isoformat(),
                "output_progress_pct": output_progress_pct(catalogue, wp_codes, actuals),
                "slipping": any(a["slipping"] for a in activities),
                "activities": activities,
            }
        )
    return {
        "as_of": on.isoformat(),
        "programme": {"start": catalogue.programme.start.isoformat(), "end": catalogue.programme.end.isoformat()},
        "output_progress_pct": output_progress_pct(catalogue, list(plan.links()), actuals),
        "work_packages": packages,
        "slippage": [f.as_dict() for f in flags],
    }


# ---- burn next to progress ------------------------------------------------------------------------------------
def burn_progress(
    catalogue: Catalogue,
    plan: WorkPlan,
    on: date,
    lines: list[BudgetLine],
    entries: list[Entry],
    actuals: Mapping[str, float | None],
) -> dict[str, Any]:
    """Spent % against time elapsed % against output progress %, with the linear forecast to the end, for the
    programme, each partner (with its cumulative spending by month) and each work package (with the output
    progress of the indicators linked to its activities). Amounts as text (EUR, cents)."""
    prog = catalogue.programme
    b = money.burn(lines, entries)
    time_pct = money.time_elapsed_pct(prog.start, prog.end, on)
    monthly: dict[str, dict[str, Decimal]] = {}
    for e in money.in_force(entries):
        month = e.spent_on.strftime("%Y-%m")
        cell = monthly.setdefault(e.partner, {})
        cell[month] = cell.get(month, money.ZERO) + e.spent

    def block(budget: Decimal, spent: Decimal) -> dict[str, Any]:
        return {
            "budget": str(money.cents(budget)),
            "spent": str(money.cents(spent)),
            "spent_pct": money.pct(spent, budget),
            "time_pct": time_pct,
            "forecast": str(money.forecast(spent, prog.start, prog.end, on)),
        }

    partners = {}
    for code in money.PARTNERS:
        cell = b.by["partner"].get(code, {"budget": money.ZERO, "spent": money.ZERO})
        running, months = money.ZERO, {}
        for month in sorted(monthly.get(code, {})):
            running += monthly[code][month]
            months[month] = str(money.cents(running))
        partners[code] = {**block(cell["budget"], cell["spent"]), "months": months}
    codes_of: dict[str, list[str]] = {}
    for code, (wp, _) in plan.links().items():
        codes_of.setdefault(wp, []).append(code)
    packages = {}
    for wp in WORK_PACKAGES:
        cell = b.by["work_package"].get(wp, {"budget": money.ZERO, "spent": money.ZERO})
        packages[wp] = {
            **block(cell["budget"], cell["spent"]),
            "output_progress_pct": output_progress_pct(catalogue, codes_of.get(wp, []), actuals),
        }
    return {
        "on": on.isoformat(),
        **block(b.budget_total, b.spent_total),
        "output_progress_pct": output_progress_pct(catalogue, list(plan.links()), actuals),
        "partners": partners,
        "work_packages": packages,
    }
