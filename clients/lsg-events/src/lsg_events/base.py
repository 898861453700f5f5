"""The base of every event's data.

Each event type is a pydantic model with three class-level facts: its CloudEvents `type` (which carries the
version, e.g. ``lv.lsg.survey.completed.v1``), the topic it travels on, and the field that keys it (the
entity whose events must stay in order). Within a version, changes are additive only: new optional fields.
Consumers ignore fields they do not know, so an older consumer keeps working when a field is added.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Gender = Literal["female", "male", "other", "undisclosed"]


class Role(StrEnum):
    """Who takes part in the programme's activities (PROGRAMME.md, education for local governments)."""

    ELDER = "elder"
    MUNICIPAL_HEAD = "municipal_head"
    MUNICIPAL_REPRESENTATIVE = "municipal_representative"
    INITIATIVE_GROUP = "initiative_group"
    RESIDENT = "resident"
    STAFF = "staff"
    OTHER = "other"


class EventData(BaseModel):
    """Base of every event payload (the CloudEvents `data`)."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=False)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    key_field: ClassVar[str]
    description: ClassVar[str] = ""

    def partition_key(self) -> str:
        """The Kafka record key: the entity that must stay ordered."""
        return str(getattr(self, self.key_field))

    def subject(self) -> str:
        """The CloudEvents `subject`: the entity the event is about."""
        return self.partition_key()


class ParticipantCount(BaseModel):
    """A cell of a participant breakdown. Counts only: no person is named."""

    model_config = ConfigDict(frozen=True)

    country: Literal["LV", "RU"] | None = None
    role: Role | None = None
    gender: Gender | None = None
    count: int = Field(ge=0)
