"""Test helpers of the surveys service: tokens, settings, campaign bodies, and the privacy checker."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_events.surveys import CampaignKind
from lsg_shared.settings import KafkaSettings
from lsg_surveys.domain.model import Campaign, CampaignStatus, Question
from lsg_surveys.settings import SurveysSettings
from lsg_testkit.tokens import api_tokens, bearer, grant

ADMIN = "test-admin-token"
EDITOR = "test-editor-token"
VIEWER = "test-viewer-token"
EDITOR_RU = "test-editor-ru-token"
PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef0123456789"

TOKENS = api_tokens(
    grant(ADMIN, "admin", ["admin"]),
    grant(EDITOR, "editor", ["editor"]),
    grant(VIEWER, "viewer", ["viewer"]),
    grant(EDITOR_RU, "editor-ru", ["editor"], countries=["RU"]),
)
auth = bearer


def settings(database_url: str, bootstrap: str, **extra: Any) -> SurveysSettings:
    return SurveysSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=bootstrap),
        api_tokens=TOKENS,
        pseudonym_key=PSEUDONYM_KEY,
        outbox_poll_interval_s=0.2,
        **extra,
    )


def loc(lv: str, ru: str, en: str) -> dict[str, str]:
    return {"lv": lv, "ru": ru, "en": en}


MUNICIPALITY = {"code": "0801000", "name": loc("Ludzas novads", "Лудзенский край", "Ludza municipality")}
TERRITORY = {"code": "0801100", "name": loc("Istras pagasts", "Истрская волость", "Istra parish")}
SETTLEMENTS = [
    {
        "country": "LV",
        "municipality": MUNICIPALITY,
        "territory": TERRITORY,
        "settlement": {"code": f"080110{i}", "name": loc(f"Ciems {i}", f"Деревня {i}", f"Village {i}")},
    }
    for i in range(1, 4)
]
PLACE = {"country": "LV", "municipality": MUNICIPALITY}

QUESTIONS = [
    {
        "question_id": "q_dialogue",
        "type": "likert_5",
        "required": True,
        "indicator": "satisfaction_dialogue",
        "label": loc("Apmierinātība ar dialogu", "Удовлетворённость диалогом", "Satisfaction with the dialogue"),
    },
    {
        "question_id": "q_involvement",
        "type": "likert_5",
        "indicator": "involvement_regional_development",
        "label": loc("Iesaiste attīstībā", "Участие в развитии", "Involvement in regional development"),
    },
    {
        "question_id": "q_channel",
        "type": "single_choice",
        "label": loc("Kanāls", "Канал", "Channel"),
        "options": [
            {"code": "meeting", "label": loc("Sapulce", "Собрание", "Meeting")},
            {"code": "phone", "label": loc("Tālrunis", "Телефон", "Phone")},
            {"code": "online", "label": loc("Internets", "Интернет", "Online")},
        ],
    },
    {
        "question_id": "q_topics",
        "type": "multiple_choice",
        "label": loc("Tēmas", "Темы", "Topics"),
        "options": [
            {"code": "roads", "label": loc("Ceļi", "Дороги", "Roads")},
            {"code": "water", "label": loc("Ūdens", "Вода", "Water")},
            {"code": "safety", "label": loc("Drošība", "Безопасность", "Safety")},
        ],
    },
    {
        "question_id": "q_meetings",
        "type": "number",
        "min": 0,
        "max": 100,
        "label": loc("Sapulces", "Собрания", "Meetings"),
    },
    {"question_id": "q_comment", "type": "free_text", "label": loc("Komentārs", "Комментарий", "Comment")},
]


def survey_body(campaign_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "campaign_id": campaign_id,
        "kind": "opinion_survey",
        "wave": 1,
        "title": loc("Aptauja 1", "Опрос 1", "Survey 1"),
        "place": PLACE,
        "planned_start": "2026-03-01",
        "planned_end": "2026-04-30",
        "target_size": 250,
        "questions": QUESTIONS,
        "settlements": SETTLEMENTS,
        "mappings": {"kobo": {"respondent_name": "group_resp/name", "respondent_phone": "group_resp/phone"}},
    }
    body.update(overrides)
    return body


def response_body(i: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "submission_id": f"sub-{i}",
        "respondent": {"name": f"Jānis Bērziņš {i}", "phone": f"+371 2000{i:04d}"},
        "settlement": SETTLEMENTS[i % 3],
        "age": 18 + (i * 7) % 70,
        "gender": ["female", "male", "undisclosed"][i % 3],
        "answers": {
            "q_dialogue": 1 + i % 5,
            "q_involvement": 1 + (i * 3) % 5,
            "q_channel": ["meeting", "phone", "online"][i % 3],
            "q_topics": [["roads"], ["water", "safety"], ["roads", "water", "safety"]][i % 3],
            "q_meetings": i % 7,
            "q_comment": f"Privāts komentārs {i}: zvaniet man",
        },
    }
    body.update(overrides)
    return body


# Names, phones (as typed and as digits) and free-text answers used by the tests' respondents.
PERSONAL_MARKERS = ("Jānis", "Bērziņš", "Иван", "Петров", "+371", "3712000", "Privāts komentārs", "zvaniet")


PERSONAL_KEYS = frozenset({"respondent", "respondent_name", "respondent_phone", "name_of_respondent", "free_text"})


def assert_no_personal_data(payloads: list[bytes | str], markers: tuple[str, ...] = PERSONAL_MARKERS) -> None:
    """No emitted payload may contain a name, phone number or free-text answer, nor a field named like one."""
    assert payloads, "no payloads to inspect"
    for raw in payloads:
        text = raw.decode() if isinstance(raw, bytes) else raw
        for marker in markers:
            assert marker not in text, f"personal data {marker!r} in an event: {text[:300]}"
        data = json.loads(text)

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    assert key not in PERSONAL_KEYS, f"personal field {key!r}"
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(data)


def campaign(**kw: object) -> Campaign:
    base: dict[str, object] = {
        "campaign_id": "c1",
        "kind": CampaignKind.OPINION_SURVEY,
        "wave": 1,
        "title": LocalizedText(lv="a", ru="б", en="c"),
        "place": Place.model_validate(PLACE),
        "planned_start": date(2026, 3, 1),
        "planned_end": date(2026, 4, 1),
        "target_size": 250,
        "status": CampaignStatus.OPEN,
        "questions": [Question.model_validate(q) for q in QUESTIONS],
        "settlements": [Place.model_validate(s) for s in SETTLEMENTS],
    }
    base.update(kw)
    return Campaign(**base)  # type: ignore[arg-type]
