"""Periods (DHIS2-style keys) and the progress status against the time-proportional milestone.

Keys: ``programme`` (to date), ``yyyy``, ``yyyyQn``, ``yyyyMM``. Event times are placed in periods in UTC.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from lsg_reporting.domain.catalogue import Indicator, Programme

PeriodKind = Literal["programme", "year", "quarter", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("programme", "year", "quarter", "month")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^\d{4}$")


def until_of(as_of: date | datetime | None) -> datetime:
    """The exclusive upper bound of `valid_from` for "as it stood on": a date means the end of that day."""
    if as_of is None:
        return datetime.now(UTC) + timedelta(microseconds=1)
    if isinstance(as_of, datetime):
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        return moment + timedelta(microseconds=1)
    return datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)


def day_of(as_of: date | datetime | None) -> date:
    """The day figures "as of" stand on (today when none is given)."""
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        return as_of
    return (as_of or datetime.now(UTC)).date()


def period_key(moment: datetime, kind: PeriodKind) -> str:
    moment = moment.astimezone(UTC)
    if kind == "programme":
        return "programme"
    if kind == "year":
        return f"{moment.year:04d}"
    if kind == "quarter":
        return f"{moment.year:04d}Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year:04d}{moment.month:02d}"


def parse_period(text: str) -> tuple[PeriodKind, str | None]:
    """A `period` query value: a kind (all periods of it) or one period key. Raises ValueError."""
    if text in PERIOD_KINDS:
        return text, None
    if _QUARTER.match(text):
        return "quarter", text
    if _MONTH.match(text):
        return "month", text
    if _YEAR.match(text):
        return "year", text
    raise ValueError(f"{text!r} is not a period: use programme, year, quarter, month, yyyy, yyyyQn or yyyyMM")


def bounds(kind: PeriodKind, key: str) -> tuple[datetime, datetime]:
    """[start, end) of one period (programme periods are unbounded)."""
    if kind == "programme":
        return datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    year = int(key[:4])
    if kind == "year":
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    month = (int(key[-1]) - 1) * 3 + 1 if kind == "quarter" else int(key[4:6])
    span = 3 if kind == "quarter" else 1
    start = datetime(year, month, 1, tzinfo=UTC)
    end_month = month + span
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return start, end


def next_boundary(moment: datetime, kind: PeriodKind) -> datetime:
    return bounds(kind, period_key(moment, kind))[1]


def expected(indicator: Indicator, programme: Programme, on: date) -> float | None:
    """Where the indicator should be on `on`: baseline at the start, milestone on its date, target at the end.

    Periodic indicators (percentages, means) are expected at their target all along.
    """
    if indicator.target is None:
        return None
    if not indicator.cumulative:
        return indicator.target
    start_value = indicator.baseline or 0.0
    points = [(programme.start, start_value)]
    if indicator.milestone is not None:
        points.append((indicator.milestone.date, indicator.milestone.value))
    points.append((programme.end, indicator.target))
    if on <= points[0][0]:
        return start_value
    for (d0, v0), (d1, v1) in itertools.pairwise(points):
        if on <= d1:
            span = (d1 - d0).days or 1
            return v0 + (v1 - v0) * (on - d0).days / span
    return indicator.target


def rag(indicator: Indicator, actual: float | None, expected_value: float | None) -> str:
    """green: on track (>= 90 % of expected); amber: >= 60 %; red: behind; grey: no target or no data yet."""
    if expected_value is None or actual is None:
        return "grey"
    if expected_value <= 0:
        return "green"
    ratio = actual / expected_value if indicator.ascending else expected_value / actual if actual else 1.0
    if ratio >= 0.9:
        return "green"
    if ratio >= 0.6:
        return "amber"
    return "red"
