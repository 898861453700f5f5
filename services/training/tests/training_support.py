"""Test helpers of the training service: tokens, settings, bodies, places."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from lsg_shared.settings import KafkaSettings
from lsg_testkit.tokens import api_tokens, bearer, grant
from lsg_training.settings import TrainingSettings

ADMIN = "training-admin-token"
EDITOR = "training-editor-token"
VIEWER = "training-viewer-token"
EDITOR_RU = "training-editor-ru-token"
PSEUDONYM_KEY = "training-test-pseudonym-key-0123456789abcdef"

TOKENS = api_tokens(
    grant(ADMIN, "admin", ["admin"]),
    grant(EDITOR, "editor", ["editor"]),
    grant(VIEWER, "viewer", ["viewer"]),
    grant(EDITOR_RU, "editor-ru", ["editor"], countries=["RU"]),
)
auth = bearer


A = auth(ADMIN)
E = auth(EDITOR)
V = auth(VIEWER)


def settings(database_url: str, bootstrap: str, **extra: Any) -> TrainingSettings:
    return TrainingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=bootstrap),
        api_tokens=TOKENS,
        training_pseudonym_key=PSEUDONYM_KEY,
        outbox_poll_interval_s=0.2,
        **extra,
    )


def loc(lv: str, ru: str, en: str) -> dict[str, str]:
    return {"lv": lv, "ru": ru, "en": en}


LUDZA = {"code": "0681000", "name": loc("Ludzas novads", "Лудзенский край", "Ludza municipality")}
ISTRA = {"code": "0681017", "name": loc("Istras pagasts", "Истрская волость", "Istra parish")}
PLACE_LV = {
    "country": "LV",
    "municipality": LUDZA,
    "territory": ISTRA,
    "settlement": {"code": "0681017-01", "name": loc("Pasiene", "Пасиене", "Pasiene")},
}
LUGA = {"code": "41633000", "name": loc("Lugas rajons", "Лужский район", "Luga district")}
VOLOSOVO = {"code": "41606000", "name": loc("Volosovas rajons", "Волосовский район", "Volosovo district")}
PLACE_RU = {
    "country": "RU",
    "municipality": LUGA,
    "territory": {
        "code": "41633416",
        "name": loc("Zaklinjes apdzīvota vieta", "Заклинское поселение", "Zaklinye settlement"),
    },
    "settlement": {"code": "41633416101", "name": loc("Zaklinje", "Заклинье", "Zaklinye")},
}
RIGA = {"country": "LV", "municipality": {"code": "0010000", "name": loc("Rīga", "Рига", "Riga")}}

DAY1 = date.today() - timedelta(days=10)
DAY2 = DAY1 + timedelta(days=1)

MODULES = [
    {
        "code": "M1",
        "title": loc("Pašvaldības un iedzīvotāji", "Самоуправление и жители", "LSG and residents"),
        "hours": 4,
        "position": 1,
    },
    {"code": "M2", "title": loc("Ciema vecākā loma", "Роль старосты", "The elder's role"), "hours": 4, "position": 2},
    {
        "code": "M3",
        "title": loc("Iniciatīvu projekti", "Проекты инициатив", "Initiative projects"),
        "hours": 4,
        "position": 3,
    },
    {
        "code": "M4",
        "title": loc("Ārkārtas situāciju komunikācija", "Связь в чрезвычайных ситуациях", "Emergency communication"),
        "hours": 4,
        "position": 4,
    },
]


def programme_body(code: str, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "title": loc("Vietējo pašvaldību mācību programma", "Учебная программа для МСУ", "LSG training programme"),
        "starts_on": DAY1.isoformat(),
        "ends_on": DAY2.isoformat(),
        "modules": MODULES,
        **extra,
    }


async def setup_programme(client: Any, code: str) -> tuple[str, dict[str, str]]:
    """A programme of 4 modules over 2 days: M1, M2 on day 1; M3 and M4 (two sessions) on day 2.

    Returns (programme id, {session label: session id}).
    """
    r = await client.post("/v1/programmes", json=programme_body(code), headers=A)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    plan = [("M1", DAY1, "lv"), ("M2", DAY1, "ru"), ("M3", DAY2, "lv"), ("M4a", DAY2, "ru"), ("M4b", DAY2, "ru")]
    sessions = {}
    for label, day, lang in plan:
        body = {
            "module_code": label[:2],
            "held_on": day.isoformat(),
            "place": PLACE_LV,
            "language": lang,
            "trainers": ["Inese Bērziņa", "Сергей Иванов"],
            "id": f"{code}-{label}",
        }
        r = await client.post(f"/v1/programmes/{pid}/sessions", json=body, headers=E)
        assert r.status_code == 201, r.text
        sessions[label] = r.json()["id"]
    return pid, sessions


LV_NAMES = [
    "Jānis Bērziņš",
    "Līga Ozoliņa",
    "Ēriks Kalniņš",
    "Ģirts Šķēle",
    "Ieva Krūmiņa",
    "Agris Ļaudups",
    "Zane Čakste",
    "Ņina Žagare",
    "Kārlis Dūmiņš",
    "Anna Āboliņa",
    "Mārtiņš Ķēniņš",
    "Dace Liepiņa",
    "Pēteris Vītols",
    "Rūta Egle",
    "Andris Grīns",
    "Sanita Putniņa",
    "Oļegs Rācenis",
]
RU_NAMES = [
    "Иванов Иван Иванович",
    "Смирнова Ольга Петровна",
    "Кузнецов Алексей Сергеевич",
    "Попова Мария Николаевна",
    "Васильев Дмитрий Юрьевич",
    "Петрова Анна Викторовна",
    "Соколов Михаил Андреевич",
    "Михайлова Елена Ивановна",
    "Новиков Сергей Павлович",
    "Фёдорова Наталья Олеговна",
    "Морозов Андрей Викторович",
    "Волкова Юлия Сергеевна",
    "Алексеев Пётр Ильич",
    "Лебедева Татьяна Ёсиповна",
    "Семёнов Артём Игоревич",
    "Егорова Дарья Андреевна",
    "Павлов Николай Ефимович",
    "Козлова Светлана Львовна",
]
ROLES_LV = ["municipal_head", "municipal_representative", "initiative_group", "other"]
ROLES_RU = ["elder", "elder", "municipal_head", "municipal_representative", "initiative_group"]
