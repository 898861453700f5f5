"""Unit tests of the domain rules: answers, places, transitions, questionnaires, pseudonyms."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from surveys_support import PLACE, QUESTIONS, SETTLEMENTS, campaign

from lsg_events.geography import Place
from lsg_events.surveys import CampaignKind
from lsg_surveys.domain.model import (
    CampaignStatus,
    Question,
    TransitionError,
    bad_text,
    campaign_errors,
    place_within,
    transition,
    validate_answers,
)
from lsg_surveys.domain.privacy import Pseudonymizer, age_band
from lsg_surveys.settings import DEV_PSEUDONYM_KEY, SurveysSettings

pytestmark = pytest.mark.unit


def test_valid_answers_split_closed_and_free_text() -> None:
    clean, errors = validate_answers(
        campaign(),
        {
            "q_dialogue": "4",
            "q_channel": "phone",
            "q_topics": ["water", "roads"],
            "q_meetings": "2,5",
            "q_comment": "x",
        },
    )
    assert errors == []
    assert clean.closed == {"q_dialogue": 4, "q_channel": "phone", "q_topics": ["roads", "water"], "q_meetings": 2.5}
    assert clean.free_text == {"q_comment": "x"}


@pytest.mark.parametrize(
    ("answers", "field", "fragment"),
    [
        ({"q_dialogue": 6}, "answers.q_dialogue", "from 1 to 5"),
        ({"q_dialogue": 0}, "answers.q_dialogue", "from 1 to 5"),
        ({"q_dialogue": 3.5}, "answers.q_dialogue", "from 1 to 5"),
        ({"q_dialogue": True}, "answers.q_dialogue", "from 1 to 5"),
        ({"q_dialogue": 3, "q_unknown": 1}, "answers.q_unknown", "unknown question"),
        ({"q_involvement": 2}, "answers.q_dialogue", "required"),
        ({"q_dialogue": 3, "q_channel": "fax"}, "answers.q_channel", "expected one of"),
        ({"q_dialogue": 3, "q_topics": "roads"}, "answers.q_topics", "list of option codes"),
        ({"q_dialogue": 3, "q_topics": ["roads", "gold"]}, "answers.q_topics", "unknown option"),
        ({"q_dialogue": 3, "q_meetings": 101}, "answers.q_meetings", "from 0"),
        ({"q_dialogue": 3, "q_meetings": float("nan")}, "answers.q_meetings", "finite"),
        ({"q_dialogue": 3, "q_meetings": 10**400}, "answers.q_meetings", "finite"),
        ({"q_dialogue": 3, "q_comment": 5}, "answers.q_comment", "text"),
        ({"q_dialogue": 3, "q_comment": "a\x00b"}, "answers.q_comment", "NUL"),
    ],
)
def test_bad_answers_name_their_field(answers: dict[str, object], field: str, fragment: str) -> None:
    _clean, errors = validate_answers(campaign(), answers)
    assert any(e.field == field and fragment in e.message for e in errors), errors


def test_kobo_style_multiple_choice_text() -> None:
    clean, errors = validate_answers(campaign(), {"q_dialogue": 5, "q_topics": "roads safety"}, text_choices=True)
    assert errors == []
    assert clean.closed["q_topics"] == ["roads", "safety"]


def test_place_within_compares_codes_level_by_level() -> None:
    area = Place.model_validate(PLACE)
    village = Place.model_validate(SETTLEMENTS[0])
    assert place_within(village, area)
    assert not place_within(area, village)
    other = Place.model_validate({**SETTLEMENTS[0], "municipality": {**SETTLEMENTS[0]["municipality"], "code": "X"}})
    assert not place_within(other, area)
    assert not place_within(Place(country="RU"), Place(country="LV"))


def test_transitions_only_forward() -> None:
    assert transition(CampaignStatus.DRAFT, CampaignStatus.OPEN)
    assert transition(CampaignStatus.OPEN, CampaignStatus.CLOSED)
    assert not transition(CampaignStatus.CLOSED, CampaignStatus.CLOSED)
    with pytest.raises(TransitionError):
        transition(CampaignStatus.CLOSED, CampaignStatus.OPEN)
    with pytest.raises(TransitionError):
        transition(CampaignStatus.DRAFT, CampaignStatus.CLOSED)


def test_questionnaire_rules() -> None:
    with pytest.raises(ValidationError, match="needs options"):
        Question.model_validate({**QUESTIONS[2], "options": []})
    with pytest.raises(ValidationError, match="free-text"):
        Question.model_validate({**QUESTIONS[5], "indicator": "x"})
    dup = campaign(questions=[Question.model_validate(QUESTIONS[0])] * 2)
    assert [e.field for e in campaign_errors(dup)] == ["questions[1].question_id"]
    assert [e.field for e in campaign_errors(campaign(questions=[]))] == ["questions"]
    assert [e.field for e in campaign_errors(campaign(kind=CampaignKind.FORUM))] == ["questions"]
    late = campaign(planned_end=date(2026, 1, 1))
    assert "planned_end" in [e.field for e in campaign_errors(late)]


def test_bad_text_finds_nul_and_surrogates() -> None:
    found = bad_text({"a": ["ok", "x\x00"], "b": {"c": "\ud800"}})
    assert [e.field for e in found] == ["a[1]", "b.c"]


def test_pseudonym_is_keyed_stable_and_normalised() -> None:
    p = Pseudonymizer("secret-1")
    assert p.respondent_key(phone="+371 2000-0001", fallback="s") == p.respondent_key(phone="37120000001", fallback="t")
    assert p.respondent_key(phone="+37120000001", fallback="s") != Pseudonymizer("secret-2").respondent_key(
        phone="+37120000001", fallback="s"
    )
    assert p.respondent_key(fallback="a") != p.respondent_key(fallback="b")
    key = p.respondent_key(ref="Panel-17", fallback="s")
    assert key.startswith("rk_")
    assert "Panel" not in key
    assert key == p.respondent_key(ref=" panel-17 ", fallback="x")


@pytest.mark.parametrize(
    ("age", "band"), [(None, "undisclosed"), (15, "undisclosed"), (16, "16-24"), (44, "35-44"), (90, "65+")]
)
def test_age_bands(age: int | None, band: str) -> None:
    assert age_band(age) == band


def test_production_refuses_the_dev_key() -> None:
    with pytest.raises(ValidationError, match="LSG_SURVEYS_PSEUDONYM_KEY"):
        SurveysSettings(environment="production")
    with pytest.raises(ValidationError, match="at least 32"):
        SurveysSettings(environment="production", pseudonym_key="short")
    ok = SurveysSettings(environment="production", pseudonym_key="k" * 40)
    assert ok.pseudonym_key.get_secret_value() != DEV_PSEUDONYM_KEY
    assert "k" * 40 not in repr(ok)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSG_SURVEYS_PSEUDONYM_KEY", "from-env-" + "x" * 30)
    assert SurveysSettings().pseudonym_key.get_secret_value().startswith("from-env-")
