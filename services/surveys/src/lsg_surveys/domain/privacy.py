"""Pseudonymous respondent keys and coarse demographics: what may leave the service about a person.

A respondent key is an HMAC-SHA256 of a normalised identity under a secret key held only by this service.
The same person (same external reference or phone) gets the same key in every wave, so panels can be
followed, but nobody without the secret can go back from the key to the phone number, nor test guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from lsg_events.surveys import AgeBand
from lsg_shared import privacy

AGE_BANDS: tuple[tuple[int, int, AgeBand], ...] = (
    (16, 24, "16-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 200, "65+"),
)


def age_band(age: int | None) -> AgeBand:
    """The band of an age in years; under 16 or unknown is 'undisclosed' (too small a group to publish)."""
    if age is None:
        return "undisclosed"
    for low, high, band in AGE_BANDS:
        if low <= age <= high:
            return band
    return "undisclosed"


def normalise_phone(phone: str) -> str:
    """Digits only, so '+371 2000-0000' and '37120000000' are one person."""
    return re.sub(r"\D", "", phone)


def normalise_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class Pseudonymizer:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the pseudonym key is empty")
        self._secret = secret.encode()

    def _mac(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def respondent_key(
        self,
        *,
        ref: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        settlement_code: str | None = None,
        fallback: str,
    ) -> str:
        """The best identity available: external reference, phone, name within a settlement, else `fallback`
        (the response's own first submission id: a respondent nobody can link to another response)."""
        if ref and ref.strip():
            return "rk_" + self._mac("ref", normalise_text(ref))[:40]
        if phone and len(normalise_phone(phone)) >= 6:
            return "rk_" + self._mac("phone", normalise_phone(phone))[:40]
        if name and name.strip() and settlement_code:
            return "rk_" + self._mac("name", f"{settlement_code}|{normalise_text(name)}")[:40]
        return "rk_" + self._mac("submission", fallback)[:40]


# --- issue 30: subject tokens, access labels, retention ---------------------------------------------------------


def respondent_tokens(subject_key: str | bytes, respondent: Mapping[str, Any]) -> set[str]:
    """The subject tokens (``lsg_shared.privacy``) of what a stored response tells about its respondent: the
    phone, the external reference, and the name with the country of the response's settlement."""
    return set(
        privacy.subject_tokens(
            subject_key,
            phone=respondent.get("respondent_phone"),
            ref=respondent.get("respondent_ref"),
            name=respondent.get("respondent_name"),
            country=respondent.get("country"),
        )
    )


def retention_due(closed_on: date, today: date, days: int) -> bool:
    """A respondent's personal fields are kept `days` full days after their campaign closed, erased after."""
    return today > closed_on + timedelta(days=days)


def _l(lv: str, ru: str, en: str) -> dict[str, str]:
    return {"lv": lv, "ru": ru, "en": en}


# Labels of the access export, in the suite's three languages.
LABELS: dict[str, dict[str, str]] = {
    "response": _l("Aptaujas atbilde", "Ответ на опрос", "Survey response"),
    "stored_in": _l("Kur glabāts", "Где хранится", "Where stored"),
    "response_id": _l("Atbildes identifikators", "Идентификатор ответа", "Response id"),
    "campaign_id": _l("Aptaujas identifikators", "Идентификатор опроса", "Survey id"),
    "campaign": _l("Aptauja", "Опрос", "Survey"),
    "respondent_name": _l("Vārds, uzvārds", "ФИО", "Full name"),
    "respondent_phone": _l("Tālrunis", "Телефон", "Phone"),
    "respondent_ref": _l(
        "Respondenta ārējais identifikators", "Внешний идентификатор респондента", "Respondent reference"
    ),
    "respondent_key": _l("Pseidonīmā atslēga", "Псевдонимный ключ", "Pseudonymous key"),
    "place": _l("Dzīvesvieta", "Место проживания", "Place of residence"),
    "age_band": _l("Vecuma grupa", "Возрастная группа", "Age band"),
    "age_range": _l("Vecuma diapazons", "Возрастной диапазон", "Age range"),
    "gender": _l("Dzimums", "Пол", "Gender"),
    "answers": _l("Slēgtās atbildes", "Закрытые ответы", "Closed answers"),
    "free_text": _l("Brīvā teksta atbildes", "Ответы в свободной форме", "Free-text answers"),
    "source": _l("Avots", "Источник", "Source"),
    "submission_ids": _l("Iesniegumu identifikatori", "Идентификаторы отправок", "Submission ids"),
    "submitted_at": _l("Iesniegts", "Отправлено", "Submitted at"),
    "recorded_at": _l("Reģistrēts", "Записано", "Recorded at"),
    "corrected_at": _l("Labots", "Исправлено", "Corrected at"),
    "events": _l("Notikumi, kuros parādās atslēga", "События, в которых встречается ключ", "Events carrying the key"),
    "gatherings": _l("Sanāksmes", "Встречи", "Meetings"),
    "audit": _l("Audita žurnāla ieraksti", "Записи журнала аудита", "Audit log rows"),
}
