"""Places of the shared geography as this service uses them: the unit a place is registered under, and the
municipality a token's scope is checked against."""

from __future__ import annotations

from typing import Any

from lsg_events.geography import AreaUnit, Place


def registered_unit(place: Place) -> AreaUnit | None:
    """The deepest unit of a place (its code registers the place), or None when it names no unit."""
    return place.settlement or place.territory or place.municipality


def municipality_of(place: dict[str, Any] | Place) -> str | None:
    p = place if isinstance(place, Place) else Place.model_validate(place)
    return p.municipality.code if p.municipality else None
