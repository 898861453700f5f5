"""``/v1/privacy``: erasure and access of a person's data in this service (admin), the same use cases the
``person.erasure_requested`` consumer runs. Requests name the person by subject tokens or contact ids, never by
name; ``lsg-admin person access --service alerts=<url>`` asks the access route."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts, privacy
from lsg_alerts.application.residency import Residency
from lsg_alerts.entrypoints.dependencies import Uow
from lsg_alerts.entrypoints.schemas import PrivacyErasureIn, PrivacyErasureOut, PrivacyRequestIn
from lsg_alerts.settings import AlertsSettings
from lsg_shared.deps import Admin

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


def _parts(request: Request) -> tuple[SecretBox, Residency, str | None]:
    settings: AlertsSettings = request.app.state.alerts_settings
    return request.app.state.box, request.app.state.residency, settings.subject_key()


@router.post(
    "/erasure-requests", response_model=PrivacyErasureOut, summary="Erase a person's contacts by token or id (admin)"
)
async def erase(who: Admin, body: PrivacyErasureIn, request: Request, uow: Uow) -> PrivacyErasureOut:
    """The contacts' names, addresses and phones are erased (and their rows in the countries' databases), they
    leave every rota; ids, notifications and acknowledgements stay. Confirms with ``person.erasure_completed`` like
    the fan-out does."""
    box, residency, key = _parts(request)
    request_id = body.request_id or f"er-{uuid.uuid4()}"
    async with uow.begin() as tx:
        erased = await contacts.erase_requested(
            tx,
            box,
            key,
            request_id=request_id,
            tokens=body.subject_tokens,
            local_ids=body.local_ids,
            residency=residency,
            requested="api",
        )
    return PrivacyErasureOut(request_id=request_id, erased=erased)


@router.post("/access", summary="Everything held about a person, lv/ru/en labels (admin)")
async def access(who: Admin, body: PrivacyRequestIn, request: Request, uow: Uow) -> dict[str, Any]:
    """One JSON document: per contact of the person every field (opened) with its label in lv/ru/en and where it
    is stored (the personal fields' database and country, the main database), rotas, overrides, notifications with
    every attempt, acknowledgements made through their links; plus the audit rows made by the person's login."""
    box, residency, key = _parts(request)
    async with uow.read() as conn:
        return await privacy.access(conn, box, residency, key, body.subject_tokens, body.local_ids)
