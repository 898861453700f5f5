"""Device availability: the share of supervised time a device was online, from its status history.

Each device is supervised from its installation until it is decommissioned; it is "up" while its last
status is ``online``. Intervals end at the next status change or at ``until`` (the as-of moment), and are
split at period boundaries so each period gets exactly its own seconds. Numerator = online seconds,
denominator = supervised seconds; the figure is 100 x num / den for any cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter

UP = {"online"}
SUPERVISED = {"installed", "online", "offline", "maintenance"}
_MICROSECOND = timedelta(microseconds=1)
_ORDER = attrgetter("at", "status")

Month = tuple[int, int]  # (year, month), UTC
CellKey = tuple[str, str, str, str, str]  # (period_kind, period, dim, dim_value, parent)


@dataclass(frozen=True, slots=True)
class StatusPoint:
    device: str
    at: datetime
    status: str
    area: tuple[str | None, str | None, str | None, str | None]  # country, municipality, territory, settlement


def cells(points: Iterable[StatusPoint], until: datetime) -> dict[CellKey, list[float]]:
    """(period_kind, period, dim, dim_value, parent) -> [online seconds, supervised seconds].

    Time is split at UTC month starts only and counted in whole microseconds (exact integers), summed per
    month over the devices of the same area; only then are the months rolled up into quarters, years and
    the programme and added to each level of the area. Splitting every interval by every period kind and
    adding each piece to every level (a period key and 20 float additions per interval) made this most of a
    rebuild's figures. Integer sums do not depend on their order; seconds become floats once, at the end.
    """
    by_device: dict[str, list[StatusPoint]] = {}
    for p in points:
        by_device.setdefault(p.device, []).append(p)
    until = until.astimezone(UTC)
    ends: dict[Month, datetime] = {}  # memo: a month's exclusive end
    by_area: dict[tuple[tuple[str, str, str], ...], dict[Month, list[int]]] = {}
    for history in by_device.values():
        history.sort(key=_ORDER)
        _months(history, until, ends, by_area.setdefault(_dims(history), {}))
    out: dict[CellKey, list[int]] = {}
    for dims, months in by_area.items():
        if months:
            _add(out, _periods(months), dims)
    return {key: [up / 1_000_000, supervised / 1_000_000] for key, (up, supervised) in out.items()}


def _months(
    history: list[StatusPoint], until: datetime, ends: dict[Month, datetime], months: dict[Month, list[int]]
) -> None:
    """Adds one device's [online, supervised] microseconds per UTC month to `months`."""
    for point, nxt in zip(history, [*history[1:], None], strict=True):
        if point.status not in SUPERVISED:
            continue
        end = min(nxt.at, until) if nxt is not None else until
        cursor = point.at.astimezone(UTC)
        if end <= cursor:
            continue
        up = point.status in UP
        while cursor < end:
            month = (cursor.year, cursor.month)
            month_end = ends.get(month)
            if month_end is None:
                month_end = ends[month] = datetime(
                    cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1, tzinfo=UTC
                )
            stop = end if end < month_end else month_end
            micros = (stop - cursor) // _MICROSECOND
            acc = months.get(month)
            if acc is None:
                acc = months[month] = [0, 0]
            acc[1] += micros
            if up:
                acc[0] += micros
            cursor = stop


def _periods(months: dict[Month, list[int]]) -> dict[tuple[str, str], list[int]]:
    """Months rolled up into (period_kind, period key) for every kind (keys as `periods.period_key`)."""
    out: dict[tuple[str, str], list[int]] = {}
    for (year, month), (up, supervised) in sorted(months.items()):
        for period in (
            ("programme", "programme"),
            ("year", f"{year:04d}"),
            ("quarter", f"{year:04d}Q{(month - 1) // 3 + 1}"),
            ("month", f"{year:04d}{month:02d}"),
        ):
            acc = out.setdefault(period, [0, 0])
            acc[0] += up
            acc[1] += supervised
    return out


def _dims(history: list[StatusPoint]) -> tuple[tuple[str, str, str], ...]:
    """The breakdown values a device counts in: the total and each level of its last known area."""
    located = [p for p in history if p.area[0] is not None]
    area = located[-1].area if located else (None, None, None, None)
    dims = [("total", "ALL", "")]
    parent = ""
    for dim, code in zip(("country", "municipality", "territory", "settlement"), area, strict=True):
        if code is None:
            break
        dims.append((dim, code, parent))
        parent = code
    return tuple(dims)


def _add(
    out: dict[CellKey, list[int]], periods: dict[tuple[str, str], list[int]], dims: tuple[tuple[str, str, str], ...]
) -> None:
    for (kind, key), (up, supervised) in periods.items():
        for dim, code, parent in dims:
            acc = out.setdefault((kind, key, dim, code, parent), [0, 0])
            acc[0] += up
            acc[1] += supervised
