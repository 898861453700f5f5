"""What every table module shares: the row type and a place's code columns."""

from __future__ import annotations

import asyncpg

from lsg_events.geography import Place

Row = asyncpg.Record


def place_columns(place: Place) -> tuple[str, str | None, str | None, str | None]:
    return (
        place.country,
        place.municipality.code if place.municipality else None,
        place.territory.code if place.territory else None,
        place.settlement.code if place.settlement else None,
    )
