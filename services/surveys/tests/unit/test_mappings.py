"""Unit tests of value mappings, age ranges and the XLSForm reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from surveys_support import campaign

from lsg_surveys.domain.imports import parse_kobo
from lsg_surveys.domain.mappings import Column, ImportMapping, MappingSet, legacy, mapping_errors, resolve_age
from lsg_surveys.domain.model import FieldMapping, Mappings
from lsg_surveys.domain.xlsform import age_value, parse_xlsform

pytestmark = pytest.mark.unit

FORM = Path(__file__).parents[1] / "data" / "kobo_form.xlsx"


@pytest.mark.parametrize(
    ("value", "published"),
    [
        ("25-34", ("25-34", None)),
        ("65+", ("65+", None)),
        ("70+", ("65+", "70+")),
        ("26-30", ("25-34", "26-30")),
        ("18-29", ("undisclosed", "18-29")),
        ("30-44", ("undisclosed", "30-44")),
        ("0-17", ("undisclosed", None)),
        ("undisclosed", ("undisclosed", None)),
        ("old", None),
        ("40-30", None),
    ],
)
def test_age_ranges_are_published_as_asked_or_in_the_band_they_fit(value: str, published: object) -> None:
    assert resolve_age(value) == published


@pytest.mark.parametrize(
    ("name", "value"),
    [("18_29", "18-29"), ("65_plus", "65+"), ("age_30_44", "30-44"), ("under_18", "0-17"), ("x", None)],
)
def test_age_choice_names(name: str, value: str | None) -> None:
    assert age_value(name) == value


def test_explicit_mapping_reads_only_named_columns_and_maps_values() -> None:
    mapping = ImportMapping(
        questions={"q_dialogue": Column(column="g/sat", values={"good": 4, "bad": 2})},
        gender=Column(column="g/sex", values={"s": "female"}),
    )
    row = {"_uuid": "u1", "g/sat": "good", "q_channel": "phone", "g/sex": "s", "age": "40"}
    rows, _ = parse_kobo(campaign(), [row, {**row, "_uuid": "u2", "g/sat": "great"}], mapping)
    assert rows[0].data is not None
    assert rows[0].data["answers"] == {"q_dialogue": 4}  # q_channel and age are not read: not mapped
    assert rows[0].data["gender"] == "female"
    assert "age" not in rows[0].data
    assert [e.field for e in rows[1].errors] == ["rows[1].answers.q_dialogue"]
    named = mapping.model_copy(update={"match": "name"})
    rows, _ = parse_kobo(campaign(), [row], named)
    assert rows[0].data is not None
    assert rows[0].data["answers"] == {"q_dialogue": 4, "q_channel": "phone"}


def test_mapping_targets_are_checked_against_the_campaign() -> None:
    bad = MappingSet(
        kobo=ImportMapping(
            questions={"q_dialogue": Column(column="a", values={"x": 7}), "nope": Column(column="b")},
            settlement_code=Column(column="c", values={"v": "999"}),
            age_band=Column(column="d", values={"a": "old"}),
        )
    )
    fields = {e.field for e in mapping_errors(campaign(), bad)}
    assert fields == {
        "mappings.kobo.questions.q_dialogue.values.x",
        "mappings.kobo.questions.nope",
        "mappings.kobo.settlement_code.values.v",
        "mappings.kobo.age_band.values.a",
    }


def test_legacy_mappings_keep_name_matching() -> None:
    converted = legacy(Mappings(kobo=FieldMapping(questions={"q_dialogue": "Q1"}, respondent_phone="tel")))
    assert converted.kobo.match == "name"
    assert converted.kobo.questions["q_dialogue"].column == "Q1"
    assert converted.kobo.respondent_phone == "tel"


def test_xlsform_gives_questions_paths_and_value_mappings() -> None:
    form, errors = parse_xlsform(FORM.read_bytes(), campaign())
    assert errors == []
    assert form is not None
    assert [q.question_id for q in form.questions][:2] == ["q_dialogue", "q_involvement"]
    assert form.mappings.kobo.questions["q_dialogue"].values["very_dissatisfied"] == 1
    assert form.mappings.kobo.respondent_name == "resp/name"
    assert form.mappings.odk.respondent_phone == "resp-phone"
    assert form.summary["form_id"] == "lsg_dialogue_2026"
    assert any("'v9'" in w for w in form.warnings)


def test_xlsform_errors_name_the_problem() -> None:
    assert parse_xlsform(b"not a workbook", campaign())[1][0].field == "body"
