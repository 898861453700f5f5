"""Figures: a cell of an indicator (period x breakdown value) from summed numerator and denominator.

Percentages and means are computed from the summed numerator and denominator of the cell, never by
averaging the percentages of sub-cells.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from lsg_reporting.domain.catalogue import Indicator

Dimension = Literal["total", "country", "municipality", "territory", "settlement", "role", "gender", "wave", "tag"]
AREA_DIMENSIONS: tuple[Dimension, ...] = ("total", "country", "municipality", "territory", "settlement")
ALL_DIMENSIONS: tuple[Dimension, ...] = (*AREA_DIMENSIONS, "role", "gender", "wave", "tag")
# The level above each area level: secondary suppression works within one parent.
PARENT: dict[str, str | None] = {
    "country": None,
    "municipality": "country",
    "territory": "municipality",
    "settlement": "territory",
}
SUPPRESSION_THRESHOLD = 5


@dataclass(frozen=True, slots=True)
class Cell:
    code: str
    period_kind: str
    period: str
    dim: str
    dim_value: str
    parent: str
    num: float
    den: float
    facts: int = 0
    suppressed: bool = False

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.code, self.period_kind, self.period, self.dim, self.dim_value)


def value_of(indicator: Indicator, num: float, den: float) -> float | None:
    if indicator.aggregation == "sum":
        return num
    if den == 0:
        return None
    return indicator.factor * num / den


def persons_of(indicator: Indicator, cell: Cell) -> float | None:
    if indicator.persons == "value":
        return cell.num
    if indicator.persons == "denominator":
        return cell.den
    return None


def suppress(indicator: Indicator, cells: list[Cell], threshold: int = SUPPRESSION_THRESHOLD) -> list[Cell]:
    """Public disclosure control: hide cells of 1..threshold-1 persons, plus a secondary cell where needed.

    Within each group of sibling cells (same period, same parent), when exactly one cell is hidden the
    smallest other non-empty cell is hidden too, so the hidden one cannot be recomputed from the total.
    Indicators that do not count persons are returned as they are.
    """
    if indicator.persons == "none":
        return cells
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for i, cell in enumerate(cells):
        if cell.dim == "total":
            continue
        groups.setdefault((cell.period_kind, cell.period, cell.dim, cell.parent), []).append(i)
    hidden: set[int] = set()
    for members in groups.values():
        primary = [i for i in members if 0 < (persons_of(indicator, cells[i]) or 0) < threshold]
        hidden.update(primary)
        if len(primary) == 1:
            others = sorted(
                (i for i in members if i not in hidden and (persons_of(indicator, cells[i]) or 0) > 0),
                key=lambda i: (persons_of(indicator, cells[i]) or 0, cells[i].dim_value),
            )
            if others:
                hidden.add(others[0])
    return [replace(c, suppressed=True) if i in hidden else c for i, c in enumerate(cells)]
