"""Unit tests of the KoboToolbox JSON and ODK Central CSV readers."""

from __future__ import annotations

import pytest
from surveys_support import campaign

from lsg_surveys.domain.imports import parse_kobo, parse_odk_csv
from lsg_surveys.domain.model import FieldMapping, Mappings

pytestmark = pytest.mark.unit


def kobo_row(uuid: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "_id": 1,
        "_uuid": uuid,
        "meta/instanceID": f"uuid:{uuid}",
        "_submission_time": "2026-03-05T10:00:00",
        "formhub/uuid": "f",
        "__version__": "v1",
        "grp/q_dialogue": "4",
        "grp/q_topics": "roads water",
        "age": "37",
        "gender": "Sieviete",
        "settlement_code": "0801101",
    }
    row.update(extra)
    return row


def test_kobo_rows_by_group_suffix_and_ids() -> None:
    rows, errors = parse_kobo(campaign(), {"count": 1, "results": [kobo_row("a1")]})
    assert errors == []
    assert len(rows) == 1
    data = rows[0].data
    assert data is not None
    assert data["submission_id"] == "a1"
    assert data["answers"] == {"q_dialogue": "4", "q_topics": "roads water"}
    assert data["age"] == 37
    assert data["gender"] == "female"
    assert data["settlement_code"] == "0801101"
    assert data["submitted_at"].tzinfo is not None
    assert rows[0].replaces_candidates == []


def test_kobo_edit_points_at_the_deprecated_version() -> None:
    row = kobo_row("b2", **{"meta/deprecatedID": "uuid:a1", "meta/rootUuid": "uuid:a1"})
    rows, _ = parse_kobo(campaign(), [row])
    assert rows[0].data is not None
    assert rows[0].data["replaces"] == "a1"
    assert rows[0].replaces_candidates == ["a1"]


def test_kobo_mapping_and_rejections() -> None:
    mapped = campaign(mappings=Mappings(kobo=FieldMapping(questions={"q_dialogue": "Q1"}, respondent_phone="tel")))
    rows, _ = parse_kobo(
        mapped,
        [
            {"_uuid": "x", "Q1": 2, "tel": "+37120000000"},
            {"_uuid": "y", "_validation_status": {"uid": "validation_status_not_approved"}},
            "nonsense",
            {"no": "id"},
        ],
    )
    assert rows[0].data is not None
    assert rows[0].data["answers"] == {"q_dialogue": 2}
    assert rows[0].data["respondent"] == {"phone": "+37120000000"}
    assert rows[1].skipped is not None
    assert rows[2].errors[0].field == "rows[2]"
    assert rows[3].errors[0].field == "rows[3].meta/instanceID"
    _, errors = parse_kobo(campaign(), {"not": "an export"})
    assert errors[0].field == "body"


ODK = (
    "SubmissionDate,grp-q_dialogue,grp-q_channel,age,meta-instanceID,KEY,SubmitterID,ReviewState,FormVersion\n"
    "2026-03-05T10:00:00.000Z,5,phone,70,uuid:k1,uuid:k1,7,,1\n"
    "2026-03-05T11:00:00.000Z,2,meeting,30,uuid:k2-v2,uuid:k2,7,edited,1\n"
    "2026-03-05T12:00:00.000Z,1,online,30,uuid:k3,uuid:k3,7,rejected,1\n"
)


def test_odk_csv_rows() -> None:
    rows, errors = parse_odk_csv(campaign(), ODK)
    assert errors == []
    first, edited, rejected = rows
    assert first.data is not None
    assert first.data["submission_id"] == "k1"
    assert first.replaces_candidates == []
    assert first.data["answers"] == {"q_dialogue": "5", "q_channel": "phone"}
    assert edited.data is not None
    assert edited.data["submission_id"] == "k2-v2"
    assert edited.replaces_candidates == ["k2"]
    assert rejected.skipped is not None


def test_odk_csv_must_look_like_an_export() -> None:
    assert parse_odk_csv(campaign(), "a,b\n1,2\n")[1][0].field == "body.KEY"
    assert parse_odk_csv(campaign(), "")[1][0].field == "body"
