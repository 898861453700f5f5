"""FastAPI dependencies the alerts routes share besides ``lsg_shared.deps``: the unit of work, the partner
doors, the settings, and the place scope of a principal.

Each is an ``async`` function reading ``app.state`` (set by ``app.create_app``): FastAPI runs a plain-function
dependency in its thread pool, a thread hop per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from lsg_alerts.application.doors import PartnerDoors
from lsg_alerts.settings import AlertsSettings
from lsg_events.geography import Place
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.uow import UnitOfWork


async def _uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.app.state.uow
    return uow


async def _doors(request: Request) -> PartnerDoors:
    doors: PartnerDoors = request.app.state.doors
    return doors


async def _settings(request: Request) -> AlertsSettings:
    settings: AlertsSettings = request.app.state.doors.settings
    return settings


Uow = Annotated[UnitOfWork, Depends(_uow)]
Doors = Annotated[PartnerDoors, Depends(_doors)]
Settings = Annotated[AlertsSettings, Depends(_settings)]


def scope_of(principal: Principal) -> Callable[[Place], None]:
    """The check a use case calls on the place it acts on: a principal scoped to a country or municipality may
    act only there (403 otherwise)."""

    def authorise(place: Place) -> None:
        ensure_scope(principal, place.country, place.municipality.code if place.municipality else None)

    return authorise
