"""Places of the shared geography: registered once, then named by their deepest unit's code."""

from __future__ import annotations

from typing import Any

from lsg_events.geography import Place
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.db import Conn
from lsg_shared.uow import UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application.errors import Invalid
from lsg_training.domain.places import municipality_of, registered_unit


async def register_place(uow: UnitOfWork, who: Principal, place: Place) -> str:
    """Register a place; answers the code it is registered under."""
    unit = registered_unit(place)
    if unit is None:
        raise Invalid("A place needs at least a municipality.", [{"field": "municipality", "message": "required"}])
    ensure_scope(who, place.country, municipality_of(place))
    async with uow.read() as conn:
        await store_place(conn, place)
    return unit.code


async def list_places(uow: UnitOfWork) -> list[Any]:
    async with uow.read() as conn:
        return await repo.list_places(conn)


async def store_place(conn: Conn, place: Place) -> None:
    unit = registered_unit(place)
    if unit is not None:
        await repo.upsert_place(conn, place.country, unit.code, place.model_dump(mode="json"))


async def resolve_place(
    conn: Conn, place: Place | None, place_code: str | None, *, country: str | None = None, field: str = "place_code"
) -> Place:
    """The place given in full (registered on the way), or the registered place a code names."""
    if place is not None:
        await store_place(conn, place)
        return place
    if place_code is None:
        if country is None:
            raise Invalid("A place is required.", [{"field": "place", "message": "required"}])
        return Place(country=country)
    rows = await repo.get_place(conn, place_code, country)
    if len(rows) != 1:
        why = "is not registered (POST /v1/places)" if not rows else "is ambiguous: give the country"
        raise Invalid(f"place_code {place_code!r} {why}.", [{"field": field, "message": why, "value": place_code}])
    return Place.model_validate(rows[0]["place"])
