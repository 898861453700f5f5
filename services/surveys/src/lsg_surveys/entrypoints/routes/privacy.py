"""``/v1/privacy``: erasure and access of a person's data in this service (admin), the same use cases the
``person.erasure_requested`` consumer runs. Requests name the person by subject tokens or ids, never by name."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from lsg_shared.deps import Admin, RuntimeDep
from lsg_surveys.application import privacy
from lsg_surveys.application.residency import residency_of
from lsg_surveys.entrypoints.schemas import PrivacyErasureIn, PrivacyErasureOut, PrivacyRequestIn
from lsg_surveys.settings import SurveysSettings

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


def _subject_key(request: Request) -> str | None:
    settings: SurveysSettings = request.app.state.surveys_settings
    return settings.subject_key()


@router.post(
    "/erasure-requests", response_model=PrivacyErasureOut, summary="Erase a person's personal data by token (admin)"
)
async def erase(body: PrivacyErasureIn, request: Request, rt: RuntimeDep, who: Admin) -> PrivacyErasureOut:
    """Respondents' names, phones, references and free-text answers (and the person's audit identities) are
    erased; the closed answers published figures were made from stay. Confirms with ``person.erasure_completed``
    like the fan-out does."""
    uow = rt.uow
    request_id = body.request_id or f"er-{uuid.uuid4()}"
    async with uow.begin() as tx:
        counts = await privacy.erase(
            tx,
            residency_of(uow),
            _subject_key(request),
            request_id=request_id,
            requested="api",
            tokens=body.subject_tokens,
            local_ids=body.local_ids,
        )
    return PrivacyErasureOut(request_id=request_id, erased=counts)


@router.post("/access", summary="Everything held about a person, lv/ru/en labels (admin)")
async def access(body: PrivacyRequestIn, request: Request, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    """One JSON document: per response of the person every field with its label in lv/ru/en and where it is
    stored (the personal fields' database and country, the pseudonymous facts' main database), the key and the
    event types it appears in; plus the audit log rows made by the person's login."""
    uow = rt.uow
    async with uow.read() as conn:
        return await privacy.access(conn, residency_of(uow), _subject_key(request), body.subject_tokens, body.local_ids)
