"""/v1/erasure-requests: erase a person's personal data on request."""

from __future__ import annotations

from fastapi import APIRouter

from lsg_shared.deps import Admin
from lsg_surveys.application import erasure
from lsg_surveys.application.erasure import ErasureRequest
from lsg_surveys.entrypoints.dependencies import Pseudo, Uow
from lsg_surveys.entrypoints.schemas import ErasureIn, ErasureOut

router = APIRouter(prefix="/v1", tags=["privacy"])


@router.post("/erasure-requests", response_model=ErasureOut)
async def erase(body: ErasureIn, principal: Admin, uow: Uow, pseudo: Pseudo) -> ErasureOut:
    """Erase a person's stored personal data (name, phone, free-text answers) and unlink their pseudonymous
    key. Closed answers stay, so results already published remain true; nothing new is published."""
    request = ErasureRequest(
        respondent_ref=body.respondent_ref,
        phone=body.phone,
        name=body.name,
        settlement_code=body.settlement_code,
        response_ids=body.response_ids,
    )
    return ErasureOut(erased_responses=await erasure.erase(uow, pseudo, request, principal.subject))
