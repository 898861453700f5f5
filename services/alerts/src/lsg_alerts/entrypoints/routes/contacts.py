"""Contacts and on-call rotas (admin): who an alert reaches on each level of the escalation ladder.

A contact's name, addresses and phone number are personal data: sealed at rest, shown to admins here, never in
events; ``DELETE /v1/contacts/{id}`` erases them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts
from lsg_alerts.application.lifecycle import now
from lsg_alerts.application.residency import Residency
from lsg_alerts.entrypoints.dependencies import Uow
from lsg_alerts.entrypoints.schemas import (
    AREA_CODE_PATTERN,
    ContactIn,
    OverrideIn,
    RotaIn,
    contact_json,
    override_json,
    rota_json,
)
from lsg_events.alerts import EscalationLevel
from lsg_shared.auth import ensure_scope
from lsg_shared.deps import Admin, Limit, Offset

router = APIRouter(prefix="/v1", tags=["contacts and on-call"])


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def _residency(request: Request) -> Residency:
    residency: Residency = request.app.state.residency
    return residency


class OnCall(BaseModel):
    level: EscalationLevel
    at: datetime
    contact_ids: list[str] = Field(description="Who is reached, in order: the holder first, then the next on call")


@router.post("/contacts", status_code=201, summary="Register a person who may be notified (personal data sealed)")
async def create_contact(principal: Admin, body: ContactIn, uow: Uow, request: Request) -> dict[str, Any]:
    ensure_scope(principal, body.country, body.municipality_code)
    person = contacts.Person(name=body.name, channels=[c.model_dump() for c in body.channels], phone=body.phone)
    box = _box(request)
    row = await contacts.register(
        uow, box, person, body.language, body.drills, body.country, body.municipality_code, _residency(request)
    )
    return contact_json(row, box)


@router.get("/contacts", summary="Contacts (admins see the personal data; erased people show no data)")
async def list_contacts(_: Admin, uow: Uow, request: Request, offset: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    box = _box(request)
    items = await contacts.all_contacts(uow, limit, offset, _residency(request))
    return {"items": [contact_json(r, box) for r in items]}


@router.get("/contacts/{contact_id}", summary="One contact")
async def get_contact(_: Admin, contact_id: UUID, uow: Uow, request: Request) -> dict[str, Any]:
    return contact_json(await contacts.get(uow, contact_id, _residency(request)), _box(request))


@router.delete(
    "/contacts/{contact_id}",
    status_code=204,
    summary="Erase a contact: their name and addresses go, they leave every rota, nothing more is sent to them",
)
async def erase_contact(principal: Admin, contact_id: UUID, uow: Uow, request: Request) -> Response:
    row = await contacts.get(uow, contact_id)
    ensure_scope(principal, row["country"], row["municipality_code"])
    await contacts.erase(uow, contact_id, _residency(request))
    return Response(status_code=204)


@router.post("/rotas", status_code=201, summary="An on-call rota for one ladder level over one area")
async def create_rota(principal: Admin, body: RotaIn, uow: Uow) -> dict[str, Any]:
    ensure_scope(principal, body.country, body.municipality_code)
    row = await contacts.create_rota(
        uow,
        body.level.value,
        body.area_code,
        body.country,
        body.municipality_code,
        body.starts_at,
        body.shift_hours * 3600 if body.shift_s is None else body.shift_s,
        body.members,
    )
    return rota_json(row, [])


@router.get("/rotas", summary="On-call rotas")
async def list_rotas(
    _: Admin,
    uow: Uow,
    area: Annotated[str | None, Query(pattern=AREA_CODE_PATTERN, description="Only rotas over this area")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    return {"items": [rota_json(r, None) for r in await contacts.all_rotas(uow, area, limit, offset)]}


@router.get("/rotas/{rota_id}", summary="One rota with its overrides")
async def get_rota(_: Admin, rota_id: UUID, uow: Uow) -> dict[str, Any]:
    row, overrides = await contacts.get_rota(uow, rota_id)
    return rota_json(row, overrides)


@router.post("/rotas/{rota_id}/overrides", status_code=201, summary="Holiday cover: someone holds the rota a while")
async def add_override(_: Admin, rota_id: UUID, body: OverrideIn, uow: Uow) -> dict[str, Any]:
    return override_json(await contacts.add_override(uow, rota_id, body.contact_id, body.starts_at, body.ends_at))


@router.get("/oncall", summary="Who is on call for a ladder level over an area at an instant (now by default)")
async def on_call(
    _: Admin,
    uow: Uow,
    level: EscalationLevel,
    area: Annotated[
        list[Annotated[str, Field(pattern=AREA_CODE_PATTERN)]],
        Query(
            max_length=4, description="Area codes, most specific first (settlement, territory, municipality, country)"
        ),
    ],
    at: datetime | None = None,
) -> OnCall:
    when = at or now()
    people = await contacts.who_is_on_call(uow, level.value, area, when)
    return OnCall(level=level, at=when, contact_ids=[str(p) for p in people])
