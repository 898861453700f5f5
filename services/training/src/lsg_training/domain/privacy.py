"""What training holds about a person, how it is found from an erasure request, and when retention ends it.

Plain rules: the personal fields of a participant, the keyed hashes that stand in for them in the main database
when they live in a country's personal database, the subject tokens of a participant (``lsg_shared.privacy``),
the labels of the access export in lv/ru/en, and the retention rule.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from lsg_shared import privacy

# The columns of `participants` that are personal data (the rest are pseudonymous facts: key, role, country,
# place, gender, the dates). They move to the country's personal database under residency and are blanked by an
# erasure.
PERSONAL_FIELDS = ("ref", "identity", "full_name", "email", "phone", "organisation")
# The columns that a lookup finds a person by, kept in the main database as keyed hashes under residency.
SEALED_FIELDS = ("ref", "identity")


def sealed(key: bytes, field: str, value: str) -> str:
    """The stand-in of a looked-up field in the main database when the person lives in a personal database."""
    return "h:" + hmac.new(key, f"lsg-training-sealed:{field}:{value}".encode(), hashlib.sha256).hexdigest()


def participant_tokens(subject_key: str | bytes, row: Mapping[str, Any]) -> set[str]:
    """Every subject token a participant's details make (what an erasure or access request is matched with)."""
    return set(
        privacy.subject_tokens(
            subject_key,
            email=row.get("email"),
            phone=row.get("phone"),
            ref=row.get("ref"),
            name=row.get("full_name"),
            country=row.get("country"),
        )
    )


def retention_due(ends: Iterable[date | None], registered_on: date, today: date, days: int) -> bool:
    """A participant's personal data is due for erasure when every programme or activity they took part in
    ended more than `days` days ago (one without an end date keeps them), or, with none, `days` after they
    were registered."""
    limit = today - timedelta(days=days)
    listed = list(ends)
    if not listed:
        return registered_on < limit
    return all(end is not None and end < limit for end in listed)


LABELS: dict[str, dict[str, str]] = {
    "participant": {"lv": "Dalībnieks", "ru": "Участник", "en": "Participant"},
    "id": {"lv": "Identifikators", "ru": "Идентификатор", "en": "Identifier"},
    "key": {
        "lv": "Pseidonīmā atslēga notikumos",
        "ru": "Псевдонимный ключ в событиях",
        "en": "Pseudonymous key in events",
    },
    "ref": {"lv": "Reģistrācijas numurs", "ru": "Регистрационный номер", "en": "Registration number"},
    "full_name": {"lv": "Vārds, uzvārds", "ru": "ФИО", "en": "Full name"},
    "email": {"lv": "E-pasts", "ru": "Электронная почта", "en": "E-mail"},
    "phone": {"lv": "Tālrunis", "ru": "Телефон", "en": "Phone"},
    "organisation": {"lv": "Organizācija", "ru": "Организация", "en": "Organisation"},
    "role": {"lv": "Loma", "ru": "Роль", "en": "Role"},
    "country": {"lv": "Valsts", "ru": "Страна", "en": "Country"},
    "place": {"lv": "Vieta", "ru": "Место", "en": "Place"},
    "gender": {"lv": "Dzimums", "ru": "Пол", "en": "Gender"},
    "registered_at": {"lv": "Reģistrēts", "ru": "Зарегистрирован", "en": "Registered"},
    "stored_in": {"lv": "Kur glabāts", "ru": "Где хранится", "en": "Where it is stored"},
    "enrolments": {"lv": "Programmas", "ru": "Программы", "en": "Programmes"},
    "attendance": {
        "lv": "Apmeklējums (parakstu lapas)",
        "ru": "Посещаемость (листы регистрации)",
        "en": "Attendance (sign-in sheets)",
    },
    "modules": {"lv": "Apmeklētie moduļi", "ru": "Посещённые модули", "en": "Modules attended"},
    "certificates": {"lv": "Sertifikāti", "ru": "Сертификаты", "en": "Certificates"},
    "activities": {
        "lv": "Pieredzes braucieni, konferences, apmaiņas",
        "ru": "Учебные поездки, конференции, обмены",
        "en": "Study tours, conferences, exchanges",
    },
    "events": {
        "lv": "Publicētie notikumi (ar pseidonīmo atslēgu)",
        "ru": "Опубликованные события (с псевдонимным ключом)",
        "en": "Published events (with the pseudonymous key)",
    },
    "audit": {"lv": "Audita žurnāla ieraksti", "ru": "Записи журнала аудита", "en": "Audit log entries"},
    "main_database": {
        "lv": "Pakalpojuma galvenā datubāze",
        "ru": "Основная база данных сервиса",
        "en": "The service's main database",
    },
    "personal_database": {
        "lv": "Personas datu datubāze valstī",
        "ru": "База персональных данных в стране",
        "en": "The country's personal-data database",
    },
}
