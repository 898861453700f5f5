"""Issue 27, the work plan: the shipped plan against the catalogue, the plan's checks, the step expected line,
slippage flags (a due date passed without its deliverable; progress below the line) and output progress."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lsg_reporting.domain import catalogue as cat
from lsg_reporting.domain import workplan as wp
from lsg_reporting.domain.finance import WORK_PACKAGES, BudgetLine, Entry

CATALOGUE = cat.load()
PLAN = wp.load(CATALOGUE)
BY_CODE = CATALOGUE.by_code()
D = Decimal


def test_the_shipped_plan_links_every_targeted_indicator_to_one_activity_with_milestones() -> None:
    links = PLAN.links()
    targeted = {i.code for i in CATALOGUE.indicators if i.target is not None}
    assert set(links) == targeted
    assert len(targeted) == 31
    assert [p.code for p in PLAN.work_packages] == list(WORK_PACKAGES)
    activities = {a.code: a for _, a in PLAN.activities()}
    # the programme card: 4 surveys, 2 focus groups, 2 consultations, forum + brochure; 35 solutions
    assert [m.value for m in activities["A2.1"].indicators["SD.SURVEYS"]] == [1, 2, 3, 4]
    assert activities["A4.4"].indicators["CA.DEVICES_INSTALLED"][-1].value == 35
    # the catalogue's three milestones are kept
    for code in ("SD.SURVEYS", "ED.TRAINING_COMPLETED", "CA.DEVICES_INSTALLED"):
        own = BY_CODE[code].milestone
        assert own is not None
        _, act = links[code]
        assert wp.PlanMilestone(date=own.date, value=own.value) in activities[act].indicators[code]
    for _, act in PLAN.activities():
        for code, milestones in act.indicators.items():
            assert milestones[-1].value == BY_CODE[code].target


def _plan_with(**changes: object) -> wp.WorkPlan:
    data = PLAN.model_dump(mode="json")
    act = data["work_packages"][1]["activities"][0]  # A2.1
    act.update(changes)
    return wp.WorkPlan.model_validate(data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end": "2026-01-31"}, "not inside the programme"),
        ({"indicators": {}, "deliverables": []}, "linked to no activity"),
        ({"code": "A2.2"}, "defined twice"),
    ],
)
def test_the_plan_check_names_what_is_wrong(changes: dict[str, object], message: str) -> None:
    plan = _plan_with(**changes)
    with pytest.raises(wp.PlanError, match=message):
        wp.check(plan, CATALOGUE)


def test_milestones_must_end_at_the_target_and_keep_the_catalogues_own() -> None:
    base = PLAN.model_dump(mode="json")
    base["work_packages"][1]["activities"][0]["indicators"]["SD.SURVEYS"][-1]["value"] = 5
    with pytest.raises(wp.PlanError, match="is not its target"):
        wp.check(wp.WorkPlan.model_validate(base), CATALOGUE)
    base = PLAN.model_dump(mode="json")
    base["work_packages"][1]["activities"][0]["indicators"]["SD.SURVEYS"][1]["date"] = "2025-07-01"
    with pytest.raises(wp.PlanError, match="catalogue's milestone"):
        wp.check(wp.WorkPlan.model_validate(base), CATALOGUE)
    base = PLAN.model_dump(mode="json")
    base["work_packages"][1]["activities"][0]["deliverables"][0]["due"] = "2025-01-15"
    with pytest.raises(wp.PlanError, match=r"outside activity A2\.1"):
        wp.check(wp.WorkPlan.model_validate(base), CATALOGUE)


def test_a_deliverable_names_either_an_indicator_with_its_value_or_a_period() -> None:
    title = {"lv": "a", "ru": "б", "en": "c"}
    with pytest.raises(ValueError, match="either an indicator"):
        wp.Deliverable(code="D1.1.9", title=title, due=date(2025, 5, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs the value"):
        wp.Deliverable(code="D1.1.9", title=title, due=date(2025, 5, 1), indicator="SD.FORUM")  # type: ignore[arg-type]


MILESTONES = [wp.PlanMilestone(date=date(2025, 3, 31), value=1), wp.PlanMilestone(date=date(2025, 6, 30), value=2)]


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 1, 1), 0.0),
        (date(2025, 3, 30), 0.0),
        (date(2025, 3, 31), 1),
        (date(2025, 6, 29), 1),
        (date(2025, 6, 30), 2),
        (date(2025, 12, 31), 2),
    ],
)
def test_the_expected_line_steps_at_each_milestone(on: date, expected: float) -> None:
    assert wp.expected_on(BY_CODE["SD.SURVEYS"], MILESTONES, on) == expected


def test_a_periodic_indicator_has_no_expectation_before_its_first_milestone() -> None:
    ind = BY_CODE["SD.SAT_DIALOGUE_TOP2"]
    line = [wp.PlanMilestone(date=date(2025, 11, 30), value=60)]
    assert wp.expected_on(ind, line, date(2025, 11, 29)) is None
    assert wp.expected_on(ind, line, date(2025, 11, 30)) == 60
    assert not wp.below_line(ind, None, None)
    assert wp.below_line(ind, None, 60)  # no figure where one is expected
    assert wp.below_line(ind, 59.9, 60)
    assert not wp.below_line(ind, 60, 60)


def test_a_descending_indicator_is_behind_above_its_line() -> None:
    ind = BY_CODE["SD.SURVEYS"].model_copy(update={"ascending": False})
    assert wp.below_line(ind, 3, 2)
    assert not wp.below_line(ind, 2, 2)


def test_deliverable_status_on_and_after_its_due_date() -> None:
    d = wp.Deliverable.model_validate(
        {
            "code": "D2.1.1",
            "title": {"lv": "a", "ru": "б", "en": "c"},
            "due": "2025-03-31",
            "indicator": "SD.SURVEYS",
            "value": 1,
        }
    )
    assert wp.deliverable_status(d, date(2025, 3, 31), {"SD.SURVEYS": 0}, {}) == "planned"  # due today: not late
    assert wp.deliverable_status(d, date(2025, 4, 1), {"SD.SURVEYS": 0}, {}) == "overdue"
    assert wp.deliverable_status(d, date(2025, 4, 1), {"SD.SURVEYS": 1}, {}) == "delivered"
    assert wp.deliverable_status(d, date(2025, 2, 1), {"SD.SURVEYS": 1}, {}) == "delivered"  # early
    report = wp.Deliverable.model_validate(
        {"code": "D1.1.1", "title": {"lv": "a", "ru": "б", "en": "c"}, "due": "2025-07-31", "period": "P1"}
    )
    assert wp.deliverable_status(report, date(2025, 8, 1), {}, {}) == "overdue"
    assert wp.deliverable_status(report, date(2025, 8, 1), {}, {"P1": date(2025, 7, 10)}) == "delivered"
    assert wp.deliverable_status(report, date(2025, 7, 9), {}, {"P1": date(2025, 7, 10)}) == "planned"


def test_evaluate_flags_overdue_deliverables_and_indicators_below_the_line() -> None:
    on = date(2025, 4, 15)
    actuals = {"SD.SURVEYS": 1.0, "SD.RESPONDENTS": 200.0, "ED.BEST_PRACTICE": 1.0, "CA.AGREEMENT_PARTNERS": 1.0}
    out = wp.evaluate(PLAN, CATALOGUE, on, actuals, {})
    flags = {(f["kind"], f["ref"]) for f in out["slippage"]}
    # on 15 April: survey 1 done, 200 of 250 respondents, the best practice and the partners' agreement are in;
    # nothing else was due (the kit is due on 30 April, focus group 1 on 30 April)
    assert flags == {("below_expected", "SD.RESPONDENTS")}
    out = wp.evaluate(PLAN, CATALOGUE, date(2025, 5, 1), actuals, {})
    flags = {(f["kind"], f["ref"]) for f in out["slippage"]}
    assert flags == {
        ("below_expected", "SD.RESPONDENTS"),
        ("below_expected", "ED.TRAINING_KIT"),
        ("deliverable_overdue", "D3.1.2"),
        ("below_expected", "SD.FOCUS_GROUPS"),
        ("below_expected", "SD.FOCUS_GROUP_PARTICIPANTS"),
    }
    wp2 = next(p for p in out["work_packages"] if p["code"] == "WP2")
    assert wp2["slipping"]
    assert wp2["title"]["ru"] == "Социальный диалог"
    a21 = wp2["activities"][0]
    assert a21["phase"] == "running"
    assert a21["indicators"][1]["expected"] == 250
    wp1 = out["work_packages"][0]
    assert not wp1["slipping"]
    assert wp1["output_progress_pct"] is None


def test_output_progress_is_the_mean_capped_share_of_the_output_indicators() -> None:
    codes = ["SD.SURVEYS", "SD.RESPONDENTS", "SD.SAT_DIALOGUE_TOP2"]  # the outcome does not count
    assert wp.output_progress_pct(CATALOGUE, codes, {"SD.SURVEYS": 2, "SD.RESPONDENTS": 2000}) == 75.0
    assert wp.output_progress_pct(CATALOGUE, ["SD.SAT_DIALOGUE_TOP2"], {}) is None


def test_burn_progress_per_partner_and_work_package() -> None:
    lines = [BudgetLine("LEAD", "staff", "WP2", D("1000.00")), BudgetLine("LPS", "equipment", "WP4", D("3000.00"))]
    entries = [
        Entry("a", "LEAD", "staff", "WP2", date(2025, 1, 20), D("100.00"), "P1", None, D("90.00"), D("10.00")),
        Entry(
            "b", "LEAD", "staff", "WP2", date(2025, 3, 2), D("200.00"), "P1", None, None, None
        ),  # not verified: counts as declared
        Entry("c", "LPS", "equipment", "WP4", date(2025, 3, 2), D("600.00"), "P1", None, D("600.00"), D("0.00")),
        Entry("c2", "LPS", "equipment", "WP4", date(2025, 3, 2), D("300.00"), "P1", "c", D("300.00"), D("0.00")),
    ]
    on = date(2025, 3, 31)  # day 90 of 365
    out = wp.burn_progress(CATALOGUE, PLAN, on, lines, entries, {"CA.DEVICES_INSTALLED": 7.0})
    assert out["budget"] == "4000.00"
    assert out["spent"] == "590.00"
    assert out["spent_pct"] == 14.75
    assert out["time_pct"] == round(90 / 365 * 100, 2)
    assert out["forecast"] == str((D("590.00") / 90 * 365).quantize(D("0.01")))
    assert out["partners"]["LEAD"]["months"] == {"2025-01": "90.00", "2025-03": "290.00"}
    assert out["partners"]["LPS"]["months"] == {"2025-03": "300.00"}
    assert out["work_packages"]["WP4"]["spent_pct"] == 10.0
    # WP4's output indicators: concept, recommendations, two agreements, installations (7/35 = 20 %), material
    assert out["work_packages"]["WP4"]["output_progress_pct"] == round(20 / 6, 2)
    assert out["work_packages"]["WP1"]["output_progress_pct"] is None
