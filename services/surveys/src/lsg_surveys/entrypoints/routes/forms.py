"""/v1/campaigns/{campaign_id}/form: the campaign's XLSForm (questions and mappings derived from it)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lsg_shared.deps import Admin
from lsg_shared.problems import Problem
from lsg_surveys.application import forms
from lsg_surveys.entrypoints.dependencies import Definitions, Uow
from lsg_surveys.entrypoints.schemas import FormOut

router = APIRouter(prefix="/v1", tags=["campaigns"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORM_TYPES = (XLSX, "application/octet-stream")


@router.put(
    "/campaigns/{campaign_id}/form",
    response_model=FormOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def upload_form(
    campaign_id: str, principal: Admin, uow: Uow, definitions: Definitions, request: Request
) -> FormOut:
    """Upload the campaign's XLSForm (`.xlsx`, while the campaign is a draft): its questions replace the
    campaign's, and its choice lists become a new mapping version (see the answer's `form.warnings` for choices
    it could not map)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise Problem(415, "Unsupported media type", f"Send the XLSForm as {XLSX}.", type_="unsupported-media-type")
    done = await forms.upload(uow, definitions, campaign_id, await request.body(), principal)
    return FormOut(
        campaign_id=done.campaign_id,
        form=done.form,
        questions=done.questions,
        mapping_version=done.mapping_version,
        mappings=done.mappings,
    )
