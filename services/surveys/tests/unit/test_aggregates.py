"""Unit and property tests of the survey aggregates."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st
from surveys_support import QUESTIONS

from lsg_surveys.domain.aggregates import aggregate, aggregate_question, margin_of_error_95
from lsg_surveys.domain.model import Question

pytestmark = pytest.mark.unit

LIKERT = Question.model_validate(QUESTIONS[0])
SINGLE = Question.model_validate(QUESTIONS[2])
MULTI = Question.model_validate(QUESTIONS[3])
NUMBER = Question.model_validate(QUESTIONS[4])


def test_margin_of_error_matches_the_standard_figure() -> None:
    assert margin_of_error_95(250) == pytest.approx(6.2, abs=0.01)
    assert margin_of_error_95(0) is None


def test_likert_aggregate_by_hand() -> None:
    agg = aggregate_question(LIKERT, [5, 4, 4, 2, 1, None])
    assert agg.n == 5
    assert agg.distribution == {"1": 1, "2": 1, "3": 0, "4": 2, "5": 1}
    assert agg.mean == pytest.approx(3.2)
    assert agg.top2_box == 3
    assert agg.top2_box_pct == 60.0
    half = 1.959963984540054 * statistics.stdev([5, 4, 4, 2, 1]) / math.sqrt(5)
    assert agg.ci95_low == pytest.approx(3.2 - half, abs=1e-4)
    assert agg.indicator == "satisfaction_dialogue"


def test_choices_and_numbers() -> None:
    assert aggregate_question(SINGLE, ["phone", "phone", "meeting"]).distribution == {
        "meeting": 1,
        "phone": 2,
        "online": 0,
    }
    multi = aggregate_question(MULTI, [["roads", "water"], ["water"]])
    assert multi.n == 2
    assert multi.distribution == {"roads": 1, "water": 2, "safety": 0}
    number = aggregate_question(NUMBER, [1.0, 2.0, 3.0])
    assert number.mean == 2.0
    assert number.distribution == {}


def test_free_text_is_never_aggregated() -> None:
    questions = [Question.model_validate(q) for q in QUESTIONS]
    out = aggregate(questions, [{"q_dialogue": 3, "q_comment": "secret"}])
    assert "q_comment" not in {a.question_id for a in out}
    assert "secret" not in str([a.model_dump() for a in out])


@given(st.lists(st.one_of(st.none(), st.integers(1, 5)), max_size=400))
def test_likert_properties(values: list[int | None]) -> None:
    agg = aggregate_question(LIKERT, values)
    given_values = [v for v in values if v is not None]
    assert agg.n == len(given_values) == sum(agg.distribution.values())
    assert agg.top2_box == sum(1 for v in given_values if v >= 4)
    if given_values:
        assert agg.mean == pytest.approx(statistics.fmean(given_values), abs=1e-4)
        assert 1 <= agg.mean <= 5
    if len(given_values) >= 2:
        assert agg.ci95_low is not None
        assert agg.ci95_high is not None
        assert agg.ci95_low <= agg.mean + 1e-9 <= agg.ci95_high + 2e-4
