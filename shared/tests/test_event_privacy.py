"""Events carry no personal field: every event type of every topic (issue 30 extends the check to the privacy
stream's new events), by the names in its JSON schema and by its example's values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lsg_events import ALL_EVENTS, topics
from lsg_events.examples import EXAMPLES
from lsg_events.privacy import PersonErasureCompleted, PersonErasureRequested
from lsg_shared import contracts, privacy

pytestmark = pytest.mark.unit

# Field names that would hold a person's identity or contact (a pseudonymous key, counts and coarse
# demographics are not among them; `trainers` in session.held is a count).
PERSONAL_FIELDS = frozenset(
    {
        "full_name",
        "first_name",
        "last_name",
        "surname",
        "email",
        "e_mail",
        "phone",
        "telephone",
        "address",
        "respondent",
        "respondent_name",
        "respondent_phone",
        "ip",
        "client_addr",
        "user_agent",
        "identity",
        "birth_date",
        "date_of_birth",
        "free_text",
    }
)


def _property_names(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            found |= _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _property_names(item)
    return found


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.event_type)
def test_no_event_has_a_personal_field(model: Any) -> None:
    schema = contracts.json_schema(model)
    names = _property_names(schema)
    assert not names & PERSONAL_FIELDS, f"{model.event_type} has personal field(s) {names & PERSONAL_FIELDS}"
    # `name` is allowed only inside a place (an area unit's lv/ru/en name), never about the event's subject.
    assert "name" not in schema["properties"], model.event_type


def test_every_topic_with_events_is_checked() -> None:
    checked = {model.topic for model in ALL_EVENTS}
    assert topics.PRIVACY in checked
    assert checked == {t.name for t in topics.TOPICS if not t.name.endswith(".dlq")}


def test_an_erasure_request_carries_tokens_not_identifiers() -> None:
    key = "k" * 32
    identifiers = {"email": "Janis@Example.lv", "phone": "+371 2000 0001", "name": "Jānis Bērziņš", "country": "LV"}
    request = PersonErasureRequested.model_validate(
        {
            **EXAMPLES[PersonErasureRequested].model_dump(mode="json"),
            "subject_tokens": privacy.subject_tokens(key, **identifiers),
        }
    )
    text = request.model_dump_json()
    for value in ("Janis", "janis", "2000", "Jānis", "Bērziņš", "example.lv"):
        assert value not in text
    assert len(request.subject_tokens) == 3
    done = json.loads(EXAMPLES[PersonErasureCompleted].model_dump_json())
    assert set(done) == {"request_id", "service", "completed_at", "erased"}
    assert all(isinstance(v, int) for v in done["erased"].values())


def test_a_request_refuses_what_is_not_a_token() -> None:
    with pytest.raises(ValueError, match="subject_tokens"):
        PersonErasureRequested.model_validate(
            {"request_id": "r", "requested_at": "2026-01-01T00:00:00Z", "subject_tokens": ["janis@example.lv"]}
        )


def test_tokens_are_normalised_keyed_and_distinct_by_kind() -> None:
    key = "shared-subject-key"
    assert privacy.subject_tokens(key, phone="+371 2000-0001") == privacy.subject_tokens(key, phone="37120000001")
    assert privacy.subject_tokens(key, email=" Janis@Example.LV ") == privacy.subject_tokens(
        key, email="janis@example.lv"
    )
    assert privacy.subject_tokens(key, name="JĀNIS  Bērziņš", country="lv") == privacy.subject_tokens(
        key, name="jānis bērziņš", country="LV"
    )
    assert privacy.subject_tokens(key, name="Jānis Bērziņš") == []  # a name alone is too weak
    assert privacy.subject_tokens(key, phone="12345") == []  # too short to be a phone
    assert privacy.subject_tokens("other-key", email="a@b.lv") != privacy.subject_tokens(key, email="a@b.lv")
    assert privacy.token(key, "ref", "X1") != privacy.token(key, "login", "X1")
    with pytest.raises(ValueError, match="unknown identifier kind"):
        privacy.token(key, "passport", "x")
