"""Issue 27: the money rules (co-financing split, conversion and VAT, verification, corrections, burn) and the
reporting periods' workflow and lock, as plain functions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsg_reporting.domain import finance as f
from lsg_reporting.domain import report_periods as rp

D = Decimal


def test_the_whole_budget_splits_as_the_programme_card_says() -> None:
    assert f.split(D("204600.00")) == (D("184104.00"), D("20496.00"))


@given(st.decimals(min_value=0, max_value=10_000_000, places=2))
def test_split_always_adds_up(amount: Decimal) -> None:
    programme, own = f.split(amount)
    assert programme + own == amount
    assert programme >= 0
    assert own >= 0


def test_conversion_at_the_entered_rate_and_recoverable_vat() -> None:
    assert f.declare(D("1210.00"), "EUR", D(1), D("210.00"), False) == f.Declared(D("1210.00"), D("210.00"))
    assert f.declare(D("1210.00"), "EUR", D(1), D("210.00"), True).amount_eur == D("1000.00")
    assert f.declare(D("120000.00"), "RUB", D("0.0105"), D("0"), False).amount_eur == D("1260.00")
    for amount, currency, rate, vat, field in [
        (D("0"), "EUR", D(1), D(0), "amount"),
        (D("10"), "EUR", D(2), D(0), "rate"),
        (D("10"), "EUR", D(1), D(11), "vat"),
        (D("999999999999.99"), "XAU", D("5000"), D(0), "rate"),
    ]:
        with pytest.raises(f.FinanceRuleError) as err:
            f.declare(amount, currency, rate, vat, False)
        assert err.value.field == field


def test_verification_splits_the_declared_amount() -> None:
    f.check_verification(D("100.00"), D("60.00"), D("40.00"))
    with pytest.raises(f.FinanceRuleError):
        f.check_verification(D("100.00"), D("60.00"), D("30.00"))


def _e(entry_id: str, amount: str, period: str = "P1", **kw: object) -> f.Entry:
    return f.Entry(entry_id, "LPS", "travel", "WP3", date(2025, 3, 1), D(amount), period, **kw)  # type: ignore[arg-type]


def test_burn_counts_eligible_once_verified_and_corrections_supersede() -> None:
    lines = [f.BudgetLine("LPS", "travel", "WP3", D("1000.00"))]
    entries = [
        _e("a", "100.00", eligible_eur=D("80.00"), ineligible_eur=D("20.00")),
        _e("b", "50.00"),
        _e("b2", "70.00", corrects="b"),
    ]
    b = f.burn(lines, entries)
    assert b.spent_total == D("150.00")
    assert b.by["partner"]["LPS"] == {"budget": D("1000.00"), "spent": D("150.00")}
    assert b.months == {"2025-03": D("150.00")}
    assert f.pct(b.spent_total, b.budget_total) == 15.0
    assert f.time_elapsed_pct(date(2025, 1, 1), date(2025, 12, 31), date(2025, 7, 2)) == 50.14
    assert f.forecast(D("100.00"), date(2025, 1, 1), date(2025, 1, 10), date(2025, 1, 5)) == D("200.00")


def test_two_periods_of_six_months() -> None:
    assert rp.periods(date(2025, 1, 1), date(2025, 12, 31)) == [
        rp.ReportingPeriod("P1", date(2025, 1, 1), date(2025, 6, 30)),
        rp.ReportingPeriod("P2", date(2025, 7, 1), date(2025, 12, 31)),
    ]


def test_workflow_and_roles() -> None:
    status: rp.Status = "draft"
    for action in ("submit", "start_verification", "approve"):
        status = rp.transition(status, action)  # type: ignore[arg-type]
    assert status == "approved"
    with pytest.raises(rp.WorkflowError):
        rp.transition("draft", "approve")
    with pytest.raises(rp.WorkflowError):
        rp.transition("approved", "return")
    assert rp.TRANSITIONS["approve"][2] == "admin"
    assert rp.TRANSITIONS["submit"][2] == "editor"


def test_an_entry_of_a_locked_period_is_declared_in_the_next_open_one() -> None:
    ps = rp.periods(date(2025, 1, 1), date(2025, 12, 31))
    assert rp.declared_in(date(2025, 3, 1), ps, {}) == "P1"
    assert rp.declared_in(date(2025, 3, 1), ps, {"P1": "approved"}) == "P2"
    with pytest.raises(rp.WorkflowError):
        rp.declared_in(date(2025, 3, 1), ps, {"P1": "in_verification"})
    with pytest.raises(rp.WorkflowError):
        rp.declared_in(date(2025, 8, 1), ps, {"P1": "approved", "P2": "approved"})


def test_a_correction_of_a_locked_period_counts_its_difference_as_an_adjustment() -> None:
    entries = [
        _e("a", "100.00", eligible_eur=D("100.00"), ineligible_eur=D("0.00")),
        _e("x", "40.00", eligible_eur=D("40.00"), ineligible_eur=D("0.00")),
        _e("x2", "45.00", corrects="x", eligible_eur=D("45.00"), ineligible_eur=D("0.00")),
        _e("a2", "130.00", period="P2", corrects="a", eligible_eur=D("120.00"), ineligible_eur=D("10.00")),
    ]
    p1 = rp.period_lines("P1", entries)
    assert [(ln.entry.entry_id, ln.superseded, ln.counts) for ln in p1] == [
        ("a", False, D("100.00")),
        ("x", True, D("0")),
        ("x2", False, D("45.00")),
    ]
    (adj,) = rp.period_lines("P2", entries)
    assert (adj.adjustment_of, adj.counts, adj.eligible) == ("P1", D("30.00"), D("20.00"))


def test_indicator_adjustments_list_what_changed_since_approval() -> None:
    approved = {"SD.SURVEYS": {"2025Q1": 1.0, "2025Q2": 1.0}, "ED.X": {"2025Q1": None}}
    now = {"SD.SURVEYS": {"2025Q1": 1.0, "2025Q2": 2.0}, "ED.X": {"2025Q1": None}}
    assert rp.indicator_adjustments(approved, now) == [
        {"code": "SD.SURVEYS", "quarter": "2025Q2", "approved": 1.0, "now": 2.0, "delta": 1.0}
    ]
