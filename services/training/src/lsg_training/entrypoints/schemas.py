"""Request bodies of the HTTP API (responses are documented by example in the route docstrings)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lsg_events.base import Gender, Role
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_events.training import ActivityKind
from lsg_training.domain.rules import CompletionRule

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
Ident = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ModuleIn(Strict):
    code: str = Code
    title: LocalizedText
    hours: Decimal = Field(gt=0, le=200, max_digits=6, decimal_places=2)
    position: int = Field(0, ge=0, le=1000)


class ProgrammeIn(Strict):
    id: str | None = Ident
    code: str = Code
    title: LocalizedText
    starts_on: date | None = None
    ends_on: date | None = None
    completion_rule: CompletionRule = Field(default_factory=CompletionRule)
    modules: list[ModuleIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammeIn:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        codes = [m.code for m in self.modules]
        if len(set(codes)) != len(codes):
            raise ValueError("two modules share a code")
        return self


class PlaceRef(Strict):
    """A place given in full, or by the code of a place registered with POST /v1/places."""

    place: Place | None = None
    place_code: str | None = Field(None, min_length=1, max_length=32)


class SessionIn(PlaceRef):
    id: str | None = Ident
    module_code: str = Code
    held_on: date
    trainers: list[str] = Field(default_factory=list, max_length=20, description="Trainers' names (kept here only)")
    language: Literal["lv", "ru", "en"]

    @model_validator(mode="after")
    def _has_place(self) -> SessionIn:
        if (self.place is None) == (self.place_code is None):
            raise ValueError("give exactly one of place or place_code")
        if any(not t.strip() or len(t) > 200 for t in self.trainers):
            raise ValueError("a trainer's name is empty or longer than 200 characters")
        return self


class ParticipantIn(PlaceRef):
    ref: str | None = Field(None, min_length=1, max_length=64, description="Organisers' registration number")
    full_name: str = Field(min_length=1, max_length=200, description="In the participant's own script")
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()./-]{5,40}$")
    role: Role
    country: Literal["LV", "RU"]
    gender: Gender = "undisclosed"
    organisation: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _place_in_country(self) -> ParticipantIn:
        if self.place is not None and self.place_code is not None:
            raise ValueError("give place or place_code, not both")
        if self.place is not None and self.place.country != self.country:
            raise ValueError(f"place is in {self.place.country} but country is {self.country}")
        return self


class ParticipantPatch(Strict):
    full_name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()./-]{5,40}$")
    role: Role | None = None
    gender: Gender | None = None
    organisation: str | None = Field(None, max_length=300)


class ParticipantIds(Strict):
    participant_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class CheckIn(Strict):
    participant_id: uuid.UUID | None = None
    ref: str | None = Field(None, min_length=1, max_length=64)
    present: bool = Field(True, description="false records the participant absent (a correction)")

    @model_validator(mode="after")
    def _who(self) -> CheckIn:
        if (self.participant_id is None) == (self.ref is None):
            raise ValueError("give exactly one of participant_id or ref")
        return self


class ActivityIn(PlaceRef):
    id: str | None = Ident
    kind: ActivityKind
    title: LocalizedText
    starts_on: date
    ends_on: date
    programme_id: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _consistent(self) -> ActivityIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if (self.place is None) == (self.place_code is None):
            raise ValueError("give exactly one of place or place_code")
        return self


OnError = Literal["reject", "skip"]
