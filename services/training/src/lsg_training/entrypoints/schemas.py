"""Request bodies of the HTTP API (every one a ``RequestModel``: no text PostgreSQL cannot store) and the
shapes of its answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from lsg_events.base import Gender, Role
from lsg_events.geography import AreaUnit, Place
from lsg_events.i18n import LocalizedText
from lsg_events.training import ActivityKind
from lsg_shared.inputs import RequestModel, text_fault
from lsg_training.domain.participants import EMAIL, PHONE, ParticipantDetails
from lsg_training.domain.rules import CompletionRule

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
Ident = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _storable(value: Any) -> None:
    """Refuse text PostgreSQL cannot store anywhere inside a nested value (``RequestModel`` skips models)."""
    if isinstance(value, str):
        fault = text_fault(value)
        if fault:
            raise ValueError(fault)
    elif isinstance(value, dict):
        for item in value.values():
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)


class Strict(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlaceIn(Place, RequestModel):
    """A place of the shared geography, as registered with POST /v1/places."""

    @field_validator("municipality", "territory", "settlement", mode="after")
    @classmethod
    def _storable_names(cls, unit: AreaUnit | None) -> AreaUnit | None:
        if unit is not None:
            _storable(unit.model_dump())
        return unit


class CompletionRuleIn(CompletionRule, RequestModel):
    """When a participant has completed a programme (see the programme's ``completion_rule``)."""

    required_modules: list[str] | None = Field(
        None,
        min_length=1,
        description="Module codes that must all be attended (at least one); null means every module of the programme",
    )


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
    completion_rule: CompletionRuleIn = Field(default_factory=CompletionRuleIn)
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

    @field_validator("place", mode="after")
    @classmethod
    def _storable_place(cls, place: Place | None) -> Place | None:
        if place is not None:
            _storable(place.model_dump())
        return place


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


class ParticipantIn(PlaceRef, ParticipantDetails):
    @model_validator(mode="after")
    def _place_in_country(self) -> ParticipantIn:
        if self.place is not None and self.place_code is not None:
            raise ValueError("give place or place_code, not both")
        if self.place is not None and self.place.country != self.country:
            raise ValueError(f"place is in {self.place.country} but country is {self.country}")
        return self

    def details(self) -> ParticipantDetails:
        return ParticipantDetails.model_validate(self.model_dump(include=set(ParticipantDetails.model_fields)))


class ParticipantPatch(Strict):
    full_name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254, pattern=EMAIL)
    phone: str | None = Field(None, max_length=40, pattern=PHONE)
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
    programme_id: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _consistent(self) -> ActivityIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if (self.place is None) == (self.place_code is None):
            raise ValueError("give exactly one of place or place_code")
        return self


OnError = Literal["reject", "skip"]


# --- answers --------------------------------------------------------------------------------------------------------


def programme_out(row: Any, modules: Iterable[Any] = ()) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "title": row["title"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "completion_rule": row["completion_rule"],
        "modules": [module_out(m) for m in modules],
    }


def module_out(m: Any) -> dict[str, Any]:
    return {"code": m["code"], "title": m["title"], "hours": float(m["hours"]), "position": m["position"]}


def session_out(s: Any) -> dict[str, Any]:
    out = {
        "id": s["id"],
        "programme_id": s["programme_id"],
        "module_code": s["module_code"],
        "held_on": s["held_on"],
        "place": s["place"],
        "trainers": s["trainers"],
        "language": s["language"],
        "closed": s["closed_at"] is not None,
    }
    if "attendees" in s:
        out["attendees"] = s["attendees"]
    return out


def participant_out(p: Any) -> dict[str, Any]:
    return {
        "id": str(p["id"]),
        "key": p["key"],
        "ref": p["ref"],
        "full_name": p["full_name"],
        "email": p["email"],
        "phone": p["phone"],
        "role": p["role"],
        "country": p["country"],
        "place": p["place"],
        "gender": p["gender"],
        "organisation": p["organisation"],
    }


def activity_out(a: Any, participants: int | None = None) -> dict[str, Any]:
    return {
        "id": a["id"],
        "kind": a["kind"],
        "title": a["title"],
        "starts_on": a["starts_on"],
        "ends_on": a["ends_on"],
        "place": a["place"],
        "programme_id": a["programme_id"],
        "held": a["held_at"] is not None,
        "participants": participants if participants is not None else a.get("participants"),
    }


class PrivacyRequest(Strict):
    """Whose data: subject tokens (``lsg_shared.privacy.subject_tokens``, as ``lsg-admin person`` makes them) and
    or this service's participant ids or pseudonymous keys. Never a name: tokens are keyed hashes."""

    subject_tokens: list[str] = Field(default_factory=list, max_length=50)
    local_ids: list[str] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _someone(self) -> PrivacyRequest:
        if not self.subject_tokens and not self.local_ids:
            raise ValueError("give subject_tokens or local_ids")
        for i, token in enumerate(self.subject_tokens):
            if not token.startswith("ps_") or len(token) != 67:
                raise ValueError(f"subject_tokens.{i}: not a subject token (ps_ + 64 hex digits)")
        return self


class ErasureRequestIn(PrivacyRequest):
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
