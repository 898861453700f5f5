"""Issue 30's pure rules: the subject tokens of a stored respondent, and when retention is due."""

from __future__ import annotations

from datetime import date

from lsg_shared import privacy
from lsg_surveys.domain.privacy import LABELS, respondent_tokens, retention_due

KEY = "unit-test-subject-key"


def test_respondent_tokens_are_the_shared_ones() -> None:
    stored = {
        "respondent_name": "Jānis  BĒRZIŅŠ",
        "respondent_phone": "+371 2000-0001",
        "respondent_ref": "Panel-17",
        "country": "LV",
    }
    tokens = respondent_tokens(KEY, stored)
    assert privacy.token(KEY, "phone", "37120000001") in tokens
    assert privacy.token(KEY, "ref", " panel-17 ") in tokens
    assert privacy.subject_tokens(KEY, name="jānis bērziņš", country="lv")[0] in tokens
    # A name counts only with its country: a Russian namesake is not this respondent.
    assert not set(privacy.subject_tokens(KEY, name="Jānis Bērziņš", country="RU")) & tokens
    assert respondent_tokens(KEY, {"country": "LV"}) == set()  # erased: nothing to meet


def test_retention_is_due_the_day_after_the_period() -> None:
    closed = date(2026, 5, 1)
    assert not retention_due(closed, date(2026, 5, 31), 30)
    assert retention_due(closed, date(2026, 6, 1), 30)


def test_labels_in_three_languages() -> None:
    assert all(set(label) == {"lv", "ru", "en"} and all(label.values()) for label in LABELS.values())
