"""``/v1/privacy``: erasure and access of a person's data in this service (admin), the same use cases the
``person.erasure_requested`` consumer runs. Requests name the person by subject tokens or ids, never by name."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from lsg_shared.deps import Admin, RuntimeDep
from lsg_training.application import privacy
from lsg_training.application.residency import residency_of
from lsg_training.entrypoints.routes.params import settings_of
from lsg_training.entrypoints.schemas import ErasureRequestIn, PrivacyRequest

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


@router.post("/erasure-requests", summary="Erase a person's personal data (admin)")
async def erase(body: ErasureRequestIn, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    """Names, contacts, registration number, organisation, the person's trainer names and audit identities are
    erased; the pseudonymous facts published figures were made from stay. Confirms with
    ``person.erasure_completed`` like the fan-out does."""
    uow = rt.uow
    request_id = body.request_id or f"er-{uuid.uuid4()}"
    async with uow.begin() as tx:
        counts = await privacy.erase(
            tx,
            residency_of(uow),
            settings_of(rt).subject_key(),
            request_id=request_id,
            requested="api",
            tokens=body.subject_tokens,
            local_ids=body.local_ids,
        )
    return {"request_id": request_id, "erased": counts}


@router.post("/access", summary="Everything held about a person, lv/ru/en labels (admin)")
async def access(body: PrivacyRequest, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    uow = rt.uow
    async with uow.read() as conn:
        return await privacy.access(
            conn, residency_of(uow), settings_of(rt).subject_key(), body.subject_tokens, body.local_ids
        )
