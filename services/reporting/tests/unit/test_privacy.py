"""Reporting's privacy rules: the pseudonym, a report's history as documents show it, the replacement of logins
in a history (with a retention cutoff)."""

from __future__ import annotations

from datetime import UTC, datetime

from lsg_reporting.domain.privacy import (
    LABELS,
    is_pseudonym,
    pseudonym,
    public_history,
    replace_in_history,
    retention_cutoff,
)

HISTORY = [
    {"action": "submit", "by": "editor@lps.lv", "at": "2025-07-01T10:00:00+00:00"},
    {"action": "start_verification", "by": "controller@lps.lv", "at": "2025-07-02T10:00:00+00:00"},
    {"action": "approve", "by": "controller@lps.lv", "at": "2026-03-01T10:00:00+00:00"},
]


def test_a_pseudonym_is_random_and_recognisable() -> None:
    made = {pseudonym() for _ in range(100)}
    assert len(made) == 100
    assert all(is_pseudonym(p) and len(p) == len("erased-") + 12 for p in made)
    assert not is_pseudonym("controller@lps.lv")


def test_documents_show_each_step_and_its_time_never_who() -> None:
    shown = public_history(HISTORY)
    assert shown == [{"action": s["action"], "at": s["at"]} for s in HISTORY]
    assert "controller" not in repr(shown)


def test_a_login_is_replaced_everywhere_or_only_before_the_cutoff() -> None:
    names = {"controller@lps.lv": "erased-0123456789ab"}
    replaced, changed = replace_in_history(HISTORY, names)
    assert changed == 2
    assert [s["by"] for s in replaced] == ["editor@lps.lv", "erased-0123456789ab", "erased-0123456789ab"]
    assert HISTORY[1]["by"] == "controller@lps.lv"  # the input is not changed
    before = retention_cutoff(datetime(2026, 1, 1, tzinfo=UTC), 30)
    replaced, changed = replace_in_history(HISTORY, names, before)
    assert changed == 1  # the approval of 2026-03-01 is younger than the cutoff
    assert [s["by"] for s in replaced][1:] == ["erased-0123456789ab", "controller@lps.lv"]


def test_every_label_is_trilingual() -> None:
    assert all(set(label) == {"lv", "ru", "en"} and all(label.values()) for label in LABELS.values())
