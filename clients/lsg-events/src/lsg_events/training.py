"""Education stream: training sessions, attendance, completion, study tour, conference, staff exchange.

Participants appear only as pseudonymous keys; names and contacts stay in the training service.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from lsg_events import topics
from lsg_events.base import EventData, Gender, ParticipantCount, Role
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText


class ActivityKind(StrEnum):
    STUDY_TOUR = "study_tour"
    CONFERENCE = "conference"
    STAFF_EXCHANGE = "staff_exchange"


class TrainingSessionHeld(EventData):
    event_type: ClassVar[str] = "lv.lsg.training.session.held.v1"
    topic: ClassVar[str] = topics.TRAINING
    key_field: ClassVar[str] = "session_id"
    description: ClassVar[str] = "A training session (one module, one day, one place) took place."

    programme_id: str
    session_id: str
    module_code: str
    module_title: LocalizedText
    held_on: date
    place: Place
    language: Literal["lv", "ru", "en"]
    trainers: int = Field(0, ge=0)
    attendees: int = Field(0, ge=0)


class TrainingAttended(EventData):
    event_type: ClassVar[str] = "lv.lsg.training.attended.v1"
    topic: ClassVar[str] = topics.TRAINING
    key_field: ClassVar[str] = "participant_key"
    description: ClassVar[str] = "A participant attended a module (present at all of its sessions)."

    programme_id: str
    participant_key: str
    module_code: str
    session_id: str = Field(description="The last session that completed the module's attendance")
    role: Role
    country: Literal["LV", "RU"]
    place: Place
    gender: Gender = "undisclosed"
    attended_on: date
    withdrawn: bool = Field(
        False,
        description=(
            "True when a correction (attendance marked absent or withdrawn after the fact) means the participant"
            " no longer attended the module. The latest event for (programme_id, participant_key, module_code),"
            " by revision, holds the current state: count pairs whose latest event is not withdrawn."
        ),
    )
    revision: int = Field(
        1,
        ge=1,
        description="1 for the first fact about (programme, participant, module); +1 with each later correction",
    )


class TrainingCompleted(EventData):
    event_type: ClassVar[str] = "lv.lsg.training.completed.v1"
    topic: ClassVar[str] = topics.TRAINING
    key_field: ClassVar[str] = "participant_key"
    description: ClassVar[str] = "A participant completed the programme (once per participant and programme)."

    programme_id: str
    participant_key: str
    role: Role
    country: Literal["LV", "RU"]
    place: Place
    gender: Gender = "undisclosed"
    completed_on: date
    modules: list[str] = Field(default_factory=list)


class ActivityHeld(EventData):
    event_type: ClassVar[str] = "lv.lsg.activity.held.v1"
    topic: ClassVar[str] = topics.TRAINING
    key_field: ClassVar[str] = "activity_id"
    description: ClassVar[str] = "A study tour, conference or staff exchange took place, with participant counts."

    activity_id: str
    kind: ActivityKind
    title: LocalizedText
    starts_on: date
    ends_on: date
    place: Place
    participants: int = Field(ge=0)
    breakdown: list[ParticipantCount] = Field(default_factory=list)
    programme_id: str | None = Field(None, description="The training programme the activity belongs to, if any")
