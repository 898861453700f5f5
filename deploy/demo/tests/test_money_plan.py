"""The simulator's money plan (issue 27), without services: the budget is the programme's EUR 204,600, every
entry of a period comes before its report's approval (which needs them verified), one correction comes after
period 1 is locked (an adjustment in period 2), and mid-year stops before any approval."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lsg_demo import content as C
from lsg_demo.scenario import Programme

pytestmark = pytest.mark.unit


def test_the_budget_is_the_programme_total() -> None:
    assert sum(Decimal(line[3]) for line in C.BUDGET_LINES) == Decimal("204600.00")


def test_entries_precede_their_period_approval_and_one_correction_follows_it() -> None:
    steps = Programme(None, scenario="full-year", seed=1).steps()  # type: ignore[arg-type]
    labels = [(s.day, s.label) for s in steps]
    approvals = {label.split()[2]: day for day, label in labels if label.startswith("period report")}
    assert set(approvals) == {"P1", "P2"}
    months = [day for day, label in labels if label.startswith("expenditure") and "declared" in label]
    assert len(months) == 12
    assert all(day < approvals["P1"] for day in months if day.month <= 6)
    assert all(approvals["P1"] < day < approvals["P2"] for day in months if day.month > 6)
    late = [day for day, label in labels if "corrected" in label and day > approvals["P1"]]
    assert len(late) == 1
    assert labels[0][1] == "budget approved" or any(label == "budget approved" for _, label in labels)


def test_mid_year_has_no_approval() -> None:
    steps = Programme(None, scenario="mid-year", seed=1).steps()  # type: ignore[arg-type]
    assert not [s for s in steps if s.label.startswith("period report")]
    assert [s for s in steps if s.label == "budget approved"]
