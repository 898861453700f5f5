"""Device availability: the share of supervised time a device was online, from its status history.

Each device is supervised from its installation until it is decommissioned; it is "up" while its last
status is ``online``. Intervals end at the next status change or at ``until`` (the as-of moment), and are
split at period boundaries so each period gets exactly its own seconds. Numerator = online seconds,
denominator = supervised seconds; the figure is 100 x num / den for any cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lsg_reporting.domain.periods import PERIOD_KINDS, period_key
from lsg_reporting.domain.periods import next_boundary as _next

UP = {"online"}
SUPERVISED = {"installed", "online", "offline", "maintenance"}


@dataclass(frozen=True, slots=True)
class StatusPoint:
    device: str
    at: datetime
    status: str
    area: tuple[str | None, str | None, str | None, str | None]  # country, municipality, territory, settlement


def cells(points: Iterable[StatusPoint], until: datetime) -> dict[tuple[str, str, str, str, str], list[float]]:
    """(period_kind, period, dim, dim_value, parent) -> [online seconds, supervised seconds]."""
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
                    stop = end if kind == "programme" else min(end, _next(cursor, kind))
                    seconds = (stop - cursor).total_seconds()
                    key = period_key(cursor, kind)
                    for dim, code, par in dims:
                        acc = out.setdefault((kind, key, dim, code, par), [0.0, 0.0])
                        acc[1] += seconds
                        if up:
                            acc[0] += seconds
                    cursor = stop
    return out
