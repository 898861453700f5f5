"""What reporting holds about a person and what erasing it means (issue 30).

Reporting holds no resident's data; it holds the **logins of staff** as who did what: who approved a budget
version, who recorded and who verified (first-level control) an expenditure entry or its correction, who recorded
a deliverable, who submitted, verified, returned or approved a period report. An erasure request (a login token)
or the retention rule replaces such a login with a **pseudonym**: ``erased-`` and 12 random hex digits, one per
person and run, kept nowhere else. What was done, when, and that the same hand did it stays (the four-eyes rule can
still be read); who it was cannot be found again: a random pseudonym has no key to reverse.

Approved period reports: the documents never carry the login (their history lists the step and its time, not who
took it), so an erasure leaves every approved JSON, XLSX and PDF byte for byte as approved. A report frozen before
that rule (its JSON's history still naming logins) has the login replaced with the pseudonym in its JSON only; the
XLSX and PDF never named anyone.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

PSEUDONYM_PREFIX = "erased-"


def pseudonym() -> str:
    """A fresh random stand-in for one person's login in one erasure or retention run."""
    return PSEUDONYM_PREFIX + secrets.token_hex(6)


def is_pseudonym(value: str) -> bool:
    return value.startswith(PSEUDONYM_PREFIX)


def public_history(history: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A report's workflow history as its documents show it: each step and when, never who."""
    return [{"action": step["action"], "at": step["at"]} for step in history]


def replace_in_history(
    history: Iterable[Mapping[str, Any]], names: Mapping[str, str], before: datetime | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The history with each login of `names` (login -> pseudonym) replaced in steps taken before `before` (every
    step without it); how many steps changed."""
    out: list[dict[str, Any]] = []
    changed = 0
    for step in history:
        step = dict(step)
        who = step.get("by")
        if isinstance(who, str) and who in names and (before is None or datetime.fromisoformat(step["at"]) < before):
            step["by"] = names[who]
            changed += 1
        out.append(step)
    return out, changed


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Logins on records made before this are replaced by the retention job."""
    return now - timedelta(days=days)


LABELS: dict[str, dict[str, str]] = {
    "login": {"lv": "Lietotājvārds", "ru": "Имя пользователя", "en": "Login"},
    "stored_in": {"lv": "Kur glabājas", "ru": "Где хранится", "en": "Where it is stored"},
    "budget_versions": {
        "lv": "Apstiprinātās budžeta versijas",
        "ru": "Утверждённые версии бюджета",
        "en": "Budget versions approved",
    },
    "expenditure_recorded": {
        "lv": "Reģistrētie izdevumi un to labojumi",
        "ru": "Внесённые расходы и их исправления",
        "en": "Expenditure entries and corrections recorded",
    },
    "expenditure_verified": {
        "lv": "Pārbaudītie izdevumi (pirmā līmeņa kontrole)",
        "ru": "Проверенные расходы (контроль первого уровня)",
        "en": "Expenditure verified (first-level control)",
    },
    "deliverables": {"lv": "Reģistrētie nodevumi", "ru": "Внесённые результаты", "en": "Deliverables recorded"},
    "report_steps": {
        "lv": "Perioda pārskatu darbības (iesniegts, pārbaude, atgriezts, apstiprināts)",
        "ru": "Действия с отчётами за период (подан, проверка, возвращён, утверждён)",
        "en": "Period report steps (submitted, verification, returned, approved)",
    },
    "audit": {"lv": "Audita žurnāla ieraksti", "ru": "Записи журнала аудита", "en": "Audit log rows"},
}
