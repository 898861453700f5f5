"""What an access export of an alert contact says, in the programme's three languages, and when retention is due."""

from __future__ import annotations

from datetime import datetime, timedelta


def _l(lv: str, ru: str, en: str) -> dict[str, str]:
    return {"lv": lv, "ru": ru, "en": en}


LABELS: dict[str, dict[str, str]] = {
    "contact": _l("Brīdinājumu kontaktpersona", "Контакт для оповещений", "Alert contact"),
    "contact_id": _l("Kontaktpersonas identifikators", "Идентификатор контакта", "Contact id"),
    "name": _l("Vārds, uzvārds", "Имя и фамилия", "Name"),
    "channels": _l("Saziņas kanāli (adreses)", "Каналы связи (адреса)", "Channels (addresses)"),
    "phone": _l("Tālrunis", "Телефон", "Phone"),
    "language": _l("Valoda", "Язык", "Language"),
    "drills": _l("Saņem mācību trauksmes", "Получает учебные тревоги", "Receives drills"),
    "channel_kinds": _l("Kanālu veidi", "Виды каналов", "Channel kinds"),
    "country": _l("Valsts", "Страна", "Country"),
    "municipality_code": _l("Pašvaldība", "Муниципалитет", "Municipality"),
    "created_at": _l("Reģistrēts", "Зарегистрирован", "Registered at"),
    "erased_at": _l("Dzēsts", "Удалён", "Erased at"),
    "stored_in": _l("Kur glabājas", "Где хранится", "Where it is stored"),
    "rotas": _l("Dežūru grafiki", "Графики дежурств", "On-call rotas"),
    "overrides": _l("Aizvietošanas", "Замены", "Overrides (cover)"),
    "notifications": _l("Paziņojumi", "Уведомления", "Notifications"),
    "attempts": _l("Sūtīšanas mēģinājumi", "Попытки отправки", "Delivery attempts"),
    "acknowledgements": _l(
        "Apstiprinājumi ar saiti", "Подтверждения по ссылке", "Acknowledgements made through the link"
    ),
    "events": _l("Notikumi, kuros minēts identifikators", "События с идентификатором", "Events naming the id"),
    "audit": _l("Audita ieraksti (pieteikšanās)", "Записи аудита (вход)", "Audit rows (login)"),
    "partners": _l(
        "Partneri (organizācijas, ne personas)", "Партнёры (организации, не лица)", "Partners (organisations)"
    ),
}


def retention_cutoff(today: datetime, days: int) -> datetime:
    """Contacts whose last activity is before this instant are due (kept exactly `days` days, erased after)."""
    return today - timedelta(days=days)
