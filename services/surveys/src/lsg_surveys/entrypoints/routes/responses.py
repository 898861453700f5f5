"""/v1/campaigns/{campaign_id}/responses: one response, a batch, a stored response read back."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from lsg_shared.deps import Editor
from lsg_shared.openapi import REPEAT
from lsg_surveys.application import responses
from lsg_surveys.entrypoints.dependencies import Definitions, MaxRows, Partial, Pseudo, Uow
from lsg_surveys.entrypoints.schemas import BatchIn, BatchResult, ResponseIn, ResponseOut, ResponseStored

router = APIRouter(prefix="/v1", tags=["responses"])


@router.post(
    "/campaigns/{campaign_id}/responses",
    status_code=201,
    response_model=ResponseStored,
    responses={200: {"description": "A repeat (no-op) or an edit of an earlier submission"}},
)
async def submit_response(
    campaign_id: str, body: ResponseIn, principal: Editor, uow: Uow, definitions: Definitions, pseudo: Pseudo
) -> JSONResponse:
    """One response. 201 when recorded; 200 when it repeats a known submission id (nothing changes) or edits
    an earlier one (`replaces`)."""
    outcome = await responses.submit(uow, definitions, pseudo, campaign_id, body, principal)
    return JSONResponse(
        ResponseStored(response_id=str(outcome.response_id), status=outcome.outcome).model_dump(),
        status_code=201 if outcome.outcome == "recorded" else 200,
        headers={"Location": f"/v1/campaigns/{campaign_id}/responses/{outcome.response_id}"},
    )


def batch_answer(result: BatchResult) -> JSONResponse:
    """201 when anything was recorded, else 200 (repeats, skips, rejections with partial=true)."""
    return JSONResponse(result.model_dump(mode="json", exclude_none=True), status_code=201 if result.recorded else 200)


@router.post("/campaigns/{campaign_id}/responses/batch", status_code=201, response_model=BatchResult, responses=REPEAT)
async def submit_batch(
    campaign_id: str,
    body: BatchIn,
    principal: Editor,
    uow: Uow,
    definitions: Definitions,
    pseudo: Pseudo,
    max_rows: MaxRows,
    partial: Partial = False,
) -> JSONResponse:
    """Many responses. Every row is checked; with errors and without `partial`, nothing is stored (422 listing
    each row's errors); with `partial=true` the valid rows are stored and the others reported."""
    outcome = await responses.submit_batch(
        uow, definitions, pseudo, campaign_id, body.responses, principal, partial=partial, max_rows=max_rows
    )
    return batch_answer(BatchResult.of(outcome))


@router.get("/campaigns/{campaign_id}/responses/{response_id}", response_model=ResponseOut)
async def get_response(campaign_id: str, response_id: uuid.UUID, principal: Editor, uow: Uow) -> ResponseOut:
    """A stored response with its personal fields (editors of the campaign's area only)."""
    row = await responses.get(uow, campaign_id, response_id, principal)
    return ResponseOut(
        response_id=str(row["response_id"]),
        campaign_id=row["campaign_id"],
        respondent_key=row["respondent_key"],
        place=row["place"],
        age_band=row["age_band"],
        age_range=row["age_range"],
        gender=row["gender"],
        answers=row["answers"],
        free_text=row["free_text"],
        respondent_name=row["respondent_name"],
        respondent_phone=row["respondent_phone"],
        source=row["source"],
        version=row["version"],
        submission_ids=list(row["submission_ids"]),
        mapping_version=row["mapping_version"],
        submitted_at=row["submitted_at"],
        recorded_at=row["recorded_at"],
        corrected_at=row["corrected_at"],
        erased_at=row["erased_at"],
    )
