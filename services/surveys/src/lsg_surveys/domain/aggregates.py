"""Survey results: per-question n, mean, distribution, top-2-box, 95 % intervals, margin of error.

Computed from the stored answers at close (never patched incrementally), so a correction received before
the close is reflected exactly once.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from lsg_events.surveys import QuestionAggregate, QuestionType
from lsg_surveys.domain.model import LIKERT_MAX, LIKERT_MIN, Question

Z95 = 1.959963984540054


def margin_of_error_95(n: int) -> float | None:
    """Worst-case (p = 0.5) margin of error of a proportion, in percentage points (n = 250 gives 6.2)."""
    if n <= 0:
        return None
    return round(100 * Z95 * math.sqrt(0.25 / n), 2)


def _mean_ci(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    half = Z95 * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def aggregate_question(question: Question, answers: Iterable[Any]) -> QuestionAggregate:
    """One question's aggregate over the answers given (unanswered ones are simply absent)."""
    given = [a for a in answers if a is not None]
    n = len(given)
    base: dict[str, Any] = {"question_id": question.question_id, "indicator": question.indicator, "n": n}
    if question.type == QuestionType.LIKERT_5:
        values = [int(a) for a in given]
        counts = Counter(values)
        mean, low, high = _mean_ci([float(v) for v in values])
        top2 = counts[4] + counts[5]
        return QuestionAggregate(
            **base,
            mean=_r(mean),
            distribution={str(v): counts[v] for v in range(LIKERT_MIN, LIKERT_MAX + 1)},
            top2_box=top2,
            top2_box_pct=_r(100 * top2 / n, 2) if n else None,
            ci95_low=_r(low),
            ci95_high=_r(high),
        )
    if question.type == QuestionType.SINGLE_CHOICE:
        chosen = Counter(str(a) for a in given)
        return QuestionAggregate(**base, distribution={o.code: chosen[o.code] for o in question.options})
    if question.type == QuestionType.MULTIPLE_CHOICE:
        ticked = Counter(str(code) for a in given for code in set(a))
        return QuestionAggregate(**base, distribution={o.code: ticked[o.code] for o in question.options})
    if question.type == QuestionType.NUMBER:
        mean, low, high = _mean_ci([float(a) for a in given])
        return QuestionAggregate(**base, mean=_r(mean), ci95_low=_r(low), ci95_high=_r(high))
    raise ValueError(f"question {question.question_id} is not closed: free text is never aggregated here")


def aggregate(questions: Iterable[Question], responses: Iterable[Mapping[str, Any]]) -> list[QuestionAggregate]:
    """Aggregates of every closed question over the responses' closed answers."""
    rows = list(responses)
    return [aggregate_question(q, (r.get(q.question_id) for r in rows)) for q in questions if q.closed]
