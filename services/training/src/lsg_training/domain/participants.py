"""A participant's details, and who counts as the same person when a participant is registered twice."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lsg_events.base import Gender, Role
from lsg_training.domain.sheets import match_key

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9 ()./-]{5,40}$"


def identity_of(ref: str | None, name: str, country: str, email: str | None, phone: str | None) -> str:
    """Who counts as the same person on a repeated registration: the ref, else name + country + a contact."""
    if ref:
        return f"ref:{ref}"
    contact = (email or "").strip().casefold() or "".join(ch for ch in (phone or "") if ch.isdigit())
    return f"name:{match_key(name)}|{country}|{contact}"


class ParticipantDetails(BaseModel):
    """A participant's details as registered (from a request body or a sheet's row)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ref: str | None = Field(None, min_length=1, max_length=64, description="Organisers' registration number")
    full_name: str = Field(min_length=1, max_length=200, description="In the participant's own script")
    email: str | None = Field(None, max_length=254, pattern=EMAIL)
    phone: str | None = Field(None, max_length=40, pattern=PHONE)
    role: Role
    country: Literal["LV", "RU"]
    gender: Gender = "undisclosed"
    organisation: str | None = Field(None, max_length=300)
