"""Training's privacy rules: retention due dates, sealed look-ups, subject tokens of a participant."""

from __future__ import annotations

from datetime import date

import pytest

from lsg_shared import privacy
from lsg_training.domain.privacy import LABELS, PERSONAL_FIELDS, participant_tokens, retention_due, sealed

pytestmark = pytest.mark.unit


def test_retention_waits_for_every_programme_and_activity_to_end() -> None:
    today = date(2027, 3, 1)
    assert retention_due([date(2027, 1, 29)], date(2026, 1, 1), today, 30)
    assert not retention_due([date(2027, 1, 30)], date(2026, 1, 1), today, 30)  # 30 days: not yet
    assert not retention_due([date(2026, 1, 1), None], date(2026, 1, 1), today, 30)  # an open programme keeps
    assert not retention_due([date(2026, 1, 1), date(2027, 2, 20)], date(2026, 1, 1), today, 30)
    assert retention_due([], date(2027, 1, 1), today, 30)  # in nothing: counted from registration
    assert not retention_due([], date(2027, 2, 15), today, 30)


def test_sealed_values_are_keyed_and_distinct_per_field() -> None:
    assert sealed(b"k", "ref", "LV-01") == sealed(b"k", "ref", "LV-01")
    assert sealed(b"k", "ref", "LV-01") != sealed(b"other", "ref", "LV-01")
    assert sealed(b"k", "ref", "LV-01") != sealed(b"k", "identity", "LV-01")
    assert "LV-01" not in sealed(b"k", "ref", "LV-01")


def test_a_participant_is_found_by_any_of_their_identifiers() -> None:
    row = {"email": "Janis@Example.lv", "phone": "+371 2000 0001", "ref": "LV-01", "full_name": "Jānis Bērziņš",
           "country": "LV"}  # fmt: skip
    tokens = participant_tokens("key", row)
    assert len(tokens) == 4
    for one in (
        {"email": "janis@example.lv"},
        {"phone": "37120000001"},
        {"ref": "lv-01"},
        {"name": "JĀNIS BĒRZIŅŠ", "country": "LV"},
    ):
        assert set(privacy.subject_tokens("key", **one)) <= tokens
    assert not set(privacy.subject_tokens("key", name="Jānis Bērziņš", country="RU")) & tokens


def test_every_personal_field_has_lv_ru_en_labels() -> None:
    for name in (*[f for f in PERSONAL_FIELDS if f != "identity"], "key", "stored_in", "attendance", "audit"):
        assert set(LABELS[name]) == {"lv", "ru", "en"}
        assert all(LABELS[name].values())
