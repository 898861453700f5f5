"""Pure domain rules: catalogue, extraction, periods and RAG, suppression, availability."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsg_events import CloudEvent, PoisonMessage
from lsg_events.base import ParticipantCount, Role
from lsg_events.geography import AreaUnit, Place
from lsg_events.i18n import LocalizedText
from lsg_events.reporting import DeliverableRecorded
from lsg_events.surveys import ClosedAnswer, FocusGroupHeld, SurveyResponseRecorded
from lsg_reporting.domain import availability
from lsg_reporting.domain.catalogue import Catalogue, Feed, load
from lsg_reporting.domain.figures import Cell, suppress, value_of
from lsg_reporting.domain.periods import bounds, expected, parse_period, period_key, rag
from lsg_reporting.domain.rules import Extractor

pytestmark = pytest.mark.unit
CAT = load()
T = LocalizedText(lv="x", ru="x", en="x")
PLACE = Place(country="LV", municipality=AreaUnit(code="M1", name=T), territory=AreaUnit(code="T1", name=T))


def test_catalogue_covers_the_programme_results() -> None:
    codes = {i.code for i in CAT.indicators}
    assert len(codes) >= 30
    targets = {i.code: i.target for i in CAT.indicators}
    assert targets["SD.SURVEYS"] == 4
    assert targets["ED.TRAINING_COMPLETED"] == 35
    assert targets["CA.DEVICES_INSTALLED"] == 35
    assert targets["CA.EMERGENCY_INFO_MATERIAL"] == 500
    assert targets["ED.BROCHURE_ELDERS"] == 250
    assert targets["ED.STAFF_EXCHANGE"] == 8
    assert all(i.title.lv and i.title.ru and i.title.en for i in CAT.indicators)


def test_a_feed_naming_a_field_the_event_lacks_is_rejected() -> None:
    with pytest.raises(ValueError, match="no field 'colour'"):
        Feed(event="lv.lsg.forum.held.v1", rule="occurrence", key=["colour"], time="held_on")
    with pytest.raises(ValueError, match="unknown event type"):
        Feed(event="lv.lsg.nothing.v1", rule="occurrence", key=["x"], time="y")
    raw = CAT.model_dump()
    raw["indicators"].append(raw["indicators"][0])
    with pytest.raises(ValueError, match="defined twice"):
        Catalogue.model_validate(raw)


def _response(values: dict[str, int], rid: str = "r1") -> CloudEvent:
    return CloudEvent(
        data=SurveyResponseRecorded(
            campaign_id="c",
            response_id=rid,
            respondent_key="k",
            wave=2,
            place=PLACE,
            gender="male",
            answers=[ClosedAnswer(question_id=q, indicator=q, value=v) for q, v in values.items()],
            submitted_at=datetime(2025, 3, 1, tzinfo=UTC),
        ),
        source="/s",
        id=rid,
    )


def test_a_response_feeds_respondents_mean_and_top2_with_its_dimensions() -> None:
    facts = {f.code: f for f in Extractor(CAT).facts([_response({"SD.SAT_DIALOGUE": 4})])}
    assert facts["SD.RESPONDENTS"].num == 1
    assert (facts["SD.SAT_DIALOGUE_MEAN"].num, facts["SD.SAT_DIALOGUE_MEAN"].den) == (4, 1)
    assert (facts["SD.SAT_DIALOGUE_TOP2"].num, facts["SD.SAT_DIALOGUE_TOP2"].den) == (1, 1)
    # an unanswered question still yields a 0/0 fact, so a correction that drops an answer supersedes
    assert (facts["SD.SAT_INVOLVEMENT_MEAN"].num, facts["SD.SAT_INVOLVEMENT_MEAN"].den) == (0, 0)
    f = facts["SD.RESPONDENTS"]
    assert (f.country, f.municipality, f.territory, f.settlement, f.gender, f.wave) == (
        "LV",
        "M1",
        "T1",
        None,
        "male",
        2,
    )


def test_a_likert_value_outside_the_scale_is_poison() -> None:
    with pytest.raises(PoisonMessage) as err:
        Extractor(CAT).facts([_response({"SD.SAT_DIALOGUE": 7})])
    assert err.value.reason == "invalid-answer"


def test_participants_split_by_cells_and_the_rest_stays_undisclosed() -> None:
    event = CloudEvent(
        data=FocusGroupHeld(
            campaign_id="fg",
            title=T,
            place=PLACE,
            held_on=date(2025, 3, 3),
            participants=12,
            breakdown=[
                ParticipantCount(country="LV", role=Role.ELDER, gender="female", count=5),
                ParticipantCount(country="RU", role=Role.RESIDENT, gender="male", count=4),
            ],
        ),
        source="/s",
    )
    facts = [f for f in Extractor(CAT).facts([event]) if f.code == "SD.FOCUS_GROUP_PARTICIPANTS"]
    assert sorted((f.num, f.role, f.country, f.municipality) for f in facts) == [
        (3, None, "LV", "M1"),
        (4, "resident", "RU", None),
        (5, "elder", "LV", "M1"),
    ]
    assert {f.corr_key for f in facts} == {"fg"}


def test_deliverable_kinds_map_to_their_indicator() -> None:
    ev = CloudEvent(
        data=DeliverableRecorded(
            deliverable_id="d1", kind="handbook_elders", quantity=100, language="ru", recorded_on=date(2025, 5, 1)
        ),
        source="/r",
    )
    facts = {f.code: f for f in Extractor(CAT).facts([ev])}
    assert set(facts) == {"ED.HANDBOOK_ELDERS", "ED.HANDBOOK_LANGUAGES"}
    assert facts["ED.HANDBOOK_ELDERS"].num == 100
    assert facts["ED.HANDBOOK_ELDERS"].tag == "ru"
    assert "ED.HANDBOOK_ELDERS" in CAT.by_code()
    assert "handbook_elders" in CAT.deliverable_kinds()


def test_periods() -> None:
    moment = datetime(2025, 11, 30, 23, 59, tzinfo=UTC)
    assert [period_key(moment, k) for k in ("programme", "year", "quarter", "month")] == [
        "programme",
        "2025",
        "2025Q4",
        "202511",
    ]
    assert parse_period("2025Q2") == ("quarter", "2025Q2")
    assert parse_period("month") == ("month", None)
    with pytest.raises(ValueError, match="not a period"):
        parse_period("2025Q5")
    assert bounds("quarter", "2025Q4") == (datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert bounds("month", "202512")[1] == datetime(2026, 1, 1, tzinfo=UTC)


def test_expected_follows_baseline_milestone_target_and_rag() -> None:
    ind = CAT.by_code()["ED.TRAINING_COMPLETED"]  # 0 -> 15 on 30 June -> 35 at the end
    prog = CAT.programme
    assert expected(ind, prog, prog.start) == 0
    assert expected(ind, prog, date(2025, 6, 30)) == 15
    assert expected(ind, prog, prog.end) == 35
    assert rag(ind, 14, 15) == "green"
    assert rag(ind, 10, 15) == "amber"
    assert rag(ind, 5, 15) == "red"
    assert rag(ind, None, 15) == "grey"
    assert expected(CAT.by_code()["CA.ALERTS_ACK_IN_TIME"], prog, date(2025, 2, 1)) == 90  # periodic


def test_percentages_come_from_numerator_and_denominator() -> None:
    ind = CAT.by_code()["SD.SAT_DIALOGUE_TOP2"]
    # 1 of 1 (100 %) and 1 of 9 (11 %): 2 of 10 = 20 %, not the 55.6 % mean of the two percentages
    assert value_of(ind, 1 + 1, 1 + 9) == pytest.approx(20.0)
    assert value_of(ind, 0, 0) is None


def _cells(values: list[int]) -> list[Cell]:
    return [
        Cell("SD.RESPONDENTS", "programme", "programme", "settlement", f"s{i}", "t1", v, 0)
        for i, v in enumerate(values)
    ]


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12))
def test_suppression_hides_small_cells_and_never_leaves_one_alone(values: list[int]) -> None:
    ind = CAT.by_code()["SD.RESPONDENTS"]
    out = suppress(ind, _cells(values))
    hidden = [c for c in out if c.suppressed]
    assert all(c.suppressed for c in out if 0 < c.num < 5)
    non_empty = [c for c in out if c.num > 0]
    if len(hidden) == 1:
        assert len(non_empty) == 1  # nothing else could be hidden with it


def test_suppression_leaves_non_person_indicators_alone() -> None:
    ind = CAT.by_code()["CA.DEVICES_INSTALLED"]
    assert not any(c.suppressed for c in suppress(ind, _cells([1, 2, 30])))


def test_availability_splits_time_at_period_boundaries() -> None:
    start = datetime(2025, 1, 31, 0, tzinfo=UTC)
    area = ("LV", "M1", None, None)
    points = [
        availability.StatusPoint("d", start, "installed", area),
        availability.StatusPoint("d", start + timedelta(hours=12), "online", area),
        availability.StatusPoint("d", start + timedelta(hours=36), "offline", area),  # Feb 1, 12:00
        availability.StatusPoint("d", start + timedelta(hours=48), "decommissioned", area),
    ]
    cells = availability.cells(points, datetime(2025, 3, 1, tzinfo=UTC))
    jan = cells[("month", "202501", "total", "ALL", "")]
    feb = cells[("month", "202502", "total", "ALL", "")]
    assert jan == [12 * 3600, 24 * 3600]
    assert feb == [12 * 3600, 24 * 3600]
    assert cells[("programme", "programme", "municipality", "M1", "LV")] == [24 * 3600, 48 * 3600]


def test_a_fact_batch_keeps_a_rejected_event_out_and_a_second_copy_factless() -> None:
    from lsg_reporting.entrypoints.consumers import FactBatch

    batch = FactBatch(Extractor(CAT))
    good, bad = _response({"SD.SAT_DIALOGUE": 4}, "r1"), _response({"SD.SAT_DIALOGUE": 9}, "r2")
    batch.add(None, good)  # type: ignore[arg-type]
    facts = list(batch.facts)
    reference = Extractor(CAT).facts([good])
    assert [f[:6] + f[8:] for f in facts] == [f[:6] + f[8:] for f in reference]
    assert [f[6:8] for f in facts] == [(f.event_time.timestamp(), f.valid_from.timestamp()) for f in reference]
    with pytest.raises(PoisonMessage):
        batch.add(None, bad)  # type: ignore[arg-type]
    assert batch.facts == facts  # nothing of the rejected event is left behind
    batch.add(None, good)  # type: ignore[arg-type]  # a redelivery inside the batch: counted, no facts
    assert batch.events == [good, good]
    assert batch.facts == facts


@given(
    answers=st.lists(st.one_of(st.none(), st.integers(1, 5)), max_size=4),
    gender=st.sampled_from(["female", "male", "other", "undisclosed"]),
)
def test_extract_appends_what_facts_returns(answers: list[int | None], gender: str) -> None:
    event = _response({f"SD.SAT_DIALOGUE{i}" if i else "SD.SAT_DIALOGUE": v for i, v in enumerate(answers)})
    event = CloudEvent(data=event.data.model_copy(update={"gender": gender}), source="/s", id="x")
    out: list[object] = ["before"]
    Extractor(CAT).extend(out, event)  # type: ignore[arg-type]
    assert out[1:] == Extractor(CAT).facts([event])
    assert all(type(f).__name__ == "Fact" for f in out[1:])
