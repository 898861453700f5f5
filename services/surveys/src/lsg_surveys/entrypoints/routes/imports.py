"""/v1/campaigns/{campaign_id}/imports: KoboToolbox JSON and ODK Central CSV exports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from lsg_shared.deps import Editor, Viewer
from lsg_shared.problems import Problem
from lsg_surveys.application import imports, mappings
from lsg_surveys.entrypoints.dependencies import Definitions, MaxRows, Partial, Pseudo, Uow
from lsg_surveys.entrypoints.routes.responses import batch_answer
from lsg_surveys.entrypoints.schemas import BatchResult

router = APIRouter(prefix="/v1", tags=["imports"])

CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@router.post("/campaigns/{campaign_id}/imports/kobo", status_code=201, response_model=BatchResult)
async def import_kobo(
    campaign_id: str,
    principal: Editor,
    uow: Uow,
    definitions: Definitions,
    pseudo: Pseudo,
    max_rows: MaxRows,
    payload: Annotated[Any, Body(description="KoboToolbox JSON export: a list of submissions or {'results': [...]}")],
    partial: Partial = False,
) -> JSONResponse:
    """Import a KoboToolbox JSON export. Rows are matched to questions through the campaign's `mappings.kobo`
    (else by question id, also inside groups). A known `meta/instanceID` is a repeat; `meta/deprecatedID`
    makes an edit (`survey.response.corrected`)."""
    outcome = await imports.import_kobo(
        uow, definitions, pseudo, campaign_id, payload, principal, partial=partial, max_rows=max_rows
    )
    return batch_answer(BatchResult.of(outcome))


@router.post(
    "/campaigns/{campaign_id}/imports/odk",
    status_code=201,
    response_model=BatchResult,
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_odk(
    campaign_id: str,
    principal: Editor,
    uow: Uow,
    definitions: Definitions,
    pseudo: Pseudo,
    max_rows: MaxRows,
    request: Request,
    partial: Partial = False,
) -> JSONResponse:
    """Import an ODK Central CSV export (`text/csv`, UTF-8). `KEY` identifies a submission, `meta-instanceID`
    its version: a new version of a known KEY is an edit. Rows with ReviewState `rejected` are skipped."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise Problem(
            415, "Unsupported media type", "Send the ODK Central export as text/csv.", type_="unsupported-media-type"
        )
    outcome = await imports.import_odk(
        uow, definitions, pseudo, campaign_id, await request.body(), principal, partial=partial, max_rows=max_rows
    )
    return batch_answer(BatchResult.of(outcome))


@router.post("/campaigns/{campaign_id}/imports/kobo/dry-run")
async def dry_run_kobo(
    campaign_id: str,
    principal: Editor,
    uow: Uow,
    definitions: Definitions,
    pseudo: Pseudo,
    max_rows: MaxRows,
    payload: Annotated[Any, Body(description="The same KoboToolbox JSON export an import takes")],
) -> dict[str, Any]:
    """What importing this export would do with the current mapping, storing nothing: per field its column, the
    values it maps (with counts) and `unmapped` values; `unmapped_values` by field; `unused_columns`; each row's
    verdict (valid, skipped, rejected with its errors). Repeats of stored submissions are not looked up."""
    return await mappings.dry_run(uow, definitions, pseudo, campaign_id, "kobo", payload, principal, max_rows=max_rows)


@router.post(
    "/campaigns/{campaign_id}/imports/odk/dry-run",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def dry_run_odk(
    campaign_id: str,
    principal: Editor,
    uow: Uow,
    definitions: Definitions,
    pseudo: Pseudo,
    max_rows: MaxRows,
    request: Request,
) -> dict[str, Any]:
    """The dry run of an ODK Central CSV export (`text/csv`): as for Kobo."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise Problem(
            415, "Unsupported media type", "Send the ODK Central export as text/csv.", type_="unsupported-media-type"
        )
    body = await request.body()
    return await mappings.dry_run(uow, definitions, pseudo, campaign_id, "odk", body, principal, max_rows=max_rows)


@router.get("/campaigns/{campaign_id}/imports")
async def list_imports(campaign_id: str, principal: Viewer, uow: Uow, definitions: Definitions) -> list[dict[str, Any]]:
    """The campaign's imports: source, the mapping version used, counts, who and when."""
    return await imports.list_imports(uow, definitions, campaign_id, principal)
