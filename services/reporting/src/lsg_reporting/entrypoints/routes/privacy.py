"""``/v1/privacy``: erasure and access of a person's data in this service (admin), the same use cases the
``person.erasure_requested`` consumer runs. Requests name the person by subject tokens (the login token) or by
login as a local id; ``lsg-admin person access --service reporting=<url>`` asks the access route."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from lsg_reporting.application import privacy
from lsg_reporting.entrypoints.schemas import PrivacyErasureIn, PrivacyRequestIn
from lsg_reporting.settings import ReportingSettings
from lsg_shared.deps import Admin, RuntimeDep
from lsg_shared.personal import where

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


def _settings(request: Request) -> ReportingSettings:
    settings: ReportingSettings = request.app.state.reporting_settings
    return settings


@router.post("/erasure-requests", summary="Replace a person's logins with a pseudonym everywhere (admin)")
async def erase(body: PrivacyErasureIn, request: Request, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    """The person's logins, stored as who approved, recorded, verified or took a report step, become a random
    pseudonym; their audit identities are erased. Amounts, states and approved documents stay. Confirms with
    ``person.erasure_completed`` like the fan-out does."""
    request_id = body.request_id or f"er-{uuid.uuid4()}"
    async with rt.uow.begin() as tx:
        counts = await privacy.erase(
            tx,
            _settings(request).subject_key(),
            request_id=request_id,
            requested="api",
            tokens=body.subject_tokens,
            local_ids=body.local_ids,
        )
    return {"request_id": request_id, "erased": counts}


@router.post("/access", summary="Everything held about a person, lv/ru/en labels (admin)")
async def access(body: PrivacyRequestIn, request: Request, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    """One JSON document: per login of the person, the budget versions they approved, the expenditure entries and
    corrections they recorded, the entries they verified, the deliverables they recorded and the report steps they
    took; where it is stored; and the audit rows made by their login."""
    settings = _settings(request)
    async with rt.uow.read() as conn:
        return await privacy.access(
            conn, settings.subject_key(), body.subject_tokens, body.local_ids, where=where(settings.database_url)
        )
