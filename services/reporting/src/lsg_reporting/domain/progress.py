"""The programme's progress: per indicator the actual against the time-proportional expectation, RAG status and
the quarterly series (what the progress report and the indicator list show)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lsg_reporting.domain.catalogue import Catalogue, Indicator
from lsg_reporting.domain.figures import Cell, value_of
from lsg_reporting.domain.periods import expected, rag


@dataclass
class Summary:
    indicator: Indicator
    actual: float | None
    numerator: float
    denominator: float
    expected: float | None
    progress_pct: float | None
    rag: str
    last_update: datetime | None
    quarters: dict[str, float | None]  # quarter -> cumulative (cumulative indicators) or in-quarter value

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        ind = self.indicator
        return {
            "code": ind.code,
            "title": ind.title.model_dump(),
            "group": ind.group,
            "result_type": ind.result_type,
            "measure": ind.measure,
            "unit": ind.unit,
            "cumulative": ind.cumulative,
            "aggregation": ind.aggregation,
            "baseline": ind.baseline,
            "milestone": ind.milestone.model_dump(mode="json") if ind.milestone else None,
            "target": ind.target,
            "actual": round_or_none(self.actual, ind.decimals),
            "numerator": self.numerator,
            "denominator": self.denominator if ind.aggregation != "sum" else None,
            "expected_now": round_or_none(self.expected, 2),
            "progress_pct": round_or_none(self.progress_pct, 1),
            "rag": self.rag,
            "last_update": self.last_update.isoformat() if self.last_update else None,
        }


def round_or_none(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(value, decimals)


def programme_quarters(catalogue: Catalogue) -> list[str]:
    start, end = catalogue.programme.start, catalogue.programme.end
    out = []
    y, q = start.year, (start.month - 1) // 3 + 1
    while (y, q) <= (end.year, (end.month - 1) // 3 + 1):
        out.append(f"{y}Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def summarise(catalogue: Catalogue, cells: Sequence[Cell], updates: Mapping[str, datetime], on: date) -> list[Summary]:
    """Every indicator's summary on `on` from its programme and quarter totals (`cells`, breakdown total)."""
    totals = {(c.code, c.period): c for c in cells}
    quarters = programme_quarters(catalogue)
    out = []
    for ind in catalogue.indicators:
        total = totals.get((ind.code, "programme"))
        num, den = (total.num, total.den) if total else (0.0, 0.0)
        actual = value_of(ind, num, den) if total else (0.0 if ind.aggregation == "sum" else None)
        exp = expected(ind, catalogue.programme, on)
        progress = (100 * actual / ind.target) if actual is not None and ind.target else None
        series: dict[str, float | None] = {}
        run_num = run_den = 0.0
        for q in quarters:
            cell = totals.get((ind.code, q))
            qn, qd = (cell.num, cell.den) if cell else (0.0, 0.0)
            if ind.cumulative and ind.aggregation != "availability":
                run_num, run_den = run_num + qn, run_den + qd
                series[q] = value_of(ind, run_num, run_den)
            else:
                series[q] = value_of(ind, qn, qd) if cell else None
        out.append(Summary(ind, actual, num, den, exp, progress, rag(ind, actual, exp), updates.get(ind.code), series))
    return out
