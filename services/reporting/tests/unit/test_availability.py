"""Device availability: the month-wise computation against the original interval-by-period one.

`_reference_cells` is the implementation before issue #28's second pass (every interval split by every period
kind through `period_key`/`next_boundary`, float seconds added to every area level), kept here verbatim as the
oracle. The new one sums whole microseconds; with whole-second timestamps both are exact, so the cells must
be equal; with microseconds the reference's float sums may differ in the last bits only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsg_reporting.domain import availability
from lsg_reporting.domain.availability import SUPERVISED, UP, StatusPoint
from lsg_reporting.domain.periods import PERIOD_KINDS, next_boundary, period_key

pytestmark = pytest.mark.unit


def _reference_cells(
    points: Iterable[StatusPoint], until: datetime
) -> dict[tuple[str, str, str, str, str], list[float]]:
    by_device: dict[str, list[StatusPoint]] = {}
    for p in points:
        by_device.setdefault(p.device, []).append(p)
    out: dict[tuple[str, str, str, str, str], list[float]] = {}
    for history in by_device.values():
        history.sort(key=lambda p: (p.at, p.status))
        located = [p for p in history if p.area[0] is not None]
        area = located[-1].area if located else (None, None, None, None)
        dims = [("total", "ALL", "")]
        parent = ""
        for dim, code in zip(("country", "municipality", "territory", "settlement"), area, strict=True):
            if code is None:
                break
            dims.append((dim, code, parent))
            parent = code
        for point, nxt in zip(history, [*history[1:], None], strict=True):
            if point.status not in SUPERVISED:
                continue
            start = point.at
            end = min(nxt.at if nxt is not None else until, until)
            if end <= start:
                continue
            up = point.status in UP
            for kind in PERIOD_KINDS:
                cursor = start
                while cursor < end:
                    stop = end if kind == "programme" else min(end, next_boundary(cursor, kind))
                    seconds = (stop - cursor).total_seconds()
                    key = period_key(cursor, kind)
                    for dim, code, par in dims:
                        acc = out.setdefault((kind, key, dim, code, par), [0.0, 0.0])
                        acc[1] += seconds
                        if up:
                            acc[0] += seconds
                    cursor = stop
    return out


EPOCH = datetime(2024, 11, 20, tzinfo=UTC)
MONTH_STARTS = [datetime(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1, tzinfo=UTC) for m in range(12, 39)]
ZONES = [UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]
STATUSES = ["installed", "online", "offline", "maintenance", "decommissioned", "unknown"]
AREAS = st.sampled_from(
    [
        (None, None, None, None),
        ("LV", None, None, None),
        ("LV", "M1", None, None),
        ("LV", "M1", "T1", None),
        ("LV", "M1", "T1", "S1"),
        ("LV", "M2", "T7", None),
        ("RU", "M9", "T3", "S4"),
    ]
)


def _points(whole_seconds: bool) -> st.SearchStrategy[list[StatusPoint]]:
    # offsets up to ~26 months (intervals from a second to more than a year, across month/quarter/year ends),
    # half of them within 6 hours of a UTC month start, where a zone other than UTC changes the month
    unit = 1 if whole_seconds else 1_000_000
    uniform = st.integers(0, 800 * 86_400 * unit).map(lambda n: timedelta(microseconds=n * 1_000_000 // unit))
    near_month_start = st.builds(
        lambda start, n: start - EPOCH + timedelta(microseconds=n * 1_000_000 // unit),
        st.sampled_from(MONTH_STARTS),
        st.integers(-6 * 3600 * unit, 6 * 3600 * unit),
    )
    offset = st.one_of(uniform, near_month_start)
    point = st.builds(
        lambda device, off, zone, status, area: StatusPoint(device, (EPOCH + off).astimezone(zone), status, area),
        st.sampled_from(["d1", "d2", "d3", "d4"]),
        offset,
        st.sampled_from(ZONES),
        st.sampled_from(STATUSES),
        AREAS,
    )
    return st.lists(point, max_size=40)


UNTIL = st.integers(0, 820 * 86_400).map(lambda s: EPOCH + timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(points=_points(whole_seconds=True), until=UNTIL)
def test_availability_equals_the_reference_with_whole_seconds(points: list[StatusPoint], until: datetime) -> None:
    assert availability.cells(list(points), until) == _reference_cells(list(points), until)


@settings(max_examples=300, deadline=None)
@given(points=_points(whole_seconds=False), until=UNTIL)
def test_availability_matches_the_reference_with_microseconds(points: list[StatusPoint], until: datetime) -> None:
    new, old = availability.cells(list(points), until), _reference_cells(list(points), until)
    assert new.keys() == old.keys()
    for key, (up, supervised) in new.items():
        assert supervised > 0, key  # a cell exists only for supervised time
        assert math.isclose(up, old[key][0], rel_tol=1e-12, abs_tol=1e-9), key
        assert math.isclose(supervised, old[key][1], rel_tol=1e-12, abs_tol=1e-9), key


def test_availability_of_a_fleet_like_the_bench_equals_the_reference() -> None:
    """A larger dataset (35 devices, status changes every few hours to weeks, until inside the last month)."""
    import random

    rng = random.Random(28)
    points = []
    for d in range(35):
        area = ("LV", f"M{d % 7}", f"T{d % 11}", None) if d % 2 else ("RU", f"M{d % 5}", None, None)
        at = EPOCH + timedelta(seconds=rng.randrange(86_400 * 30))
        points.append(StatusPoint(f"dev{d}", at, "installed", area))
        for _ in range(300):
            at += timedelta(seconds=rng.randrange(60, 86_400 * 10))
            status = rng.choice(["online", "online", "offline", "maintenance"])
            points.append(StatusPoint(f"dev{d}", at, status, area if rng.random() < 0.9 else (None,) * 4))
        if d % 5 == 0:
            points.append(StatusPoint(f"dev{d}", at + timedelta(days=3), "decommissioned", area))
    rng.shuffle(points)
    until = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
    assert availability.cells(points, until) == _reference_cells(points, until)
