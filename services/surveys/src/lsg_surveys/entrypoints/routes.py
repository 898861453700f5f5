"""HTTP API v1 of the surveys service.

Writes need a bearer token: `editor` for responses, imports and meetings; `admin` for campaign set-up and
erasure. The only reads open to anyone are in `PUBLIC_READS` (campaign descriptions and published results,
which hold no personal data).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from lsg_events.surveys import CampaignKind, SurveyCompleted
from lsg_shared.auth import Principal, ensure_scope, require
from lsg_shared.problems import Problem
from lsg_surveys.domain.imports import ImportRow, parse_kobo, parse_odk_csv
from lsg_surveys.domain.model import (
    Campaign,
    CampaignStatus,
    FieldError,
    TransitionError,
    bad_text,
    campaign_errors,
    place_within,
)
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.domain.responses import (
    PreparedResponse,
    ResponseInput,
    prepare,
    prepare_raw,
    pydantic_errors,
)
from lsg_surveys.entrypoints.errors import scrub
from lsg_surveys.entrypoints.schemas import (
    BatchIn,
    BatchResult,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    ErasureIn,
    ErasureOut,
    GatheringIn,
    GatheringOut,
    GatheringStored,
    ResponseOut,
    ResponseStored,
    RowOutcome,
)
from lsg_surveys.service import CampaignNotOpen, GatheringIdTaken, NotFound, StoredOutcome, SurveysApp, WrongKind

PUBLIC_READS = frozenset(
    {
        "GET /v1/campaigns",
        "GET /v1/campaigns/{campaign_id}",
        "GET /v1/campaigns/{campaign_id}/results",
    }
)

router = APIRouter(prefix="/v1")
Editor = Annotated[Principal, Depends(require("editor"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Partial = Annotated[bool, Query(description="Store the good rows and report the bad ones (else: all or nothing)")]


def surveys(request: Request) -> SurveysApp:
    app: SurveysApp = request.app.state.surveys
    return app


def pseudonymizer(request: Request) -> Pseudonymizer:
    p: Pseudonymizer = request.app.state.pseudonymizer
    return p


def max_rows(request: Request) -> int:
    n: int = request.app.state.max_batch_rows
    return n


App = Annotated[SurveysApp, Depends(surveys)]
Pseudo = Annotated[Pseudonymizer, Depends(pseudonymizer)]


def invalid(errors: Sequence[FieldError], detail: str | None = None, **extra: Any) -> Problem:
    fields = ", ".join(dict.fromkeys(e.field for e in errors))
    return Problem(
        422,
        "Invalid request",
        scrub(detail or f"Invalid field(s): {fields}"),
        type_="validation-error",
        errors=scrub([e.as_dict() for e in errors]),
        **scrub(extra),
    )


def not_found(campaign_id: str) -> Problem:
    return Problem(404, "Not found", f"No campaign {campaign_id!r}.", type_="not-found")


def not_open(campaign_id: str, status: CampaignStatus) -> Problem:
    return invalid(
        [FieldError("campaign_id", f"the campaign is {status.value}; it accepts no responses", campaign_id)],
        f"Campaign {campaign_id!r} is {status.value}: responses are accepted only while it is open.",
    )


def scope(principal: Principal, campaign: Campaign) -> None:
    municipality = campaign.place.municipality.code if campaign.place.municipality else None
    ensure_scope(principal, campaign.place.country, municipality)


async def load(app: SurveysApp, campaign_id: str, *, count: bool = False) -> tuple[Campaign, Any, int]:
    try:
        return await app.get_campaign(campaign_id, count=count)
    except NotFound:
        raise not_found(campaign_id) from None


def campaign_out(campaign: Campaign, row: Any, responses: int) -> CampaignOut:
    return CampaignOut(
        campaign_id=campaign.campaign_id,
        kind=campaign.kind,
        wave=campaign.wave,
        title=campaign.title,
        place=campaign.place,
        planned_start=campaign.planned_start,
        planned_end=campaign.planned_end,
        target_size=campaign.target_size,
        status=campaign.status,
        questions=campaign.questions,
        mappings=campaign.mappings,
        settlements=campaign.settlements,
        responses=responses,
        created_at=row["created_at"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
    )


# --- campaigns ------------------------------------------------------------------------------------


@router.post("/campaigns", status_code=201, response_model=CampaignOut, tags=["campaigns"])
async def create_campaign(body: CampaignIn, principal: Admin, app: App, response: Response) -> CampaignOut:
    """Create a campaign (status draft). For an opinion survey, its questionnaire comes with it."""
    errors = bad_text(body.model_dump(mode="json"))
    campaign = Campaign(
        campaign_id=body.campaign_id or f"{body.kind.value}-{uuid.uuid4().hex[:12]}",
        kind=body.kind,
        wave=body.wave,
        title=body.title,
        place=body.place,
        planned_start=body.planned_start,
        planned_end=body.planned_end,
        target_size=body.target_size,
        status=CampaignStatus.DRAFT,
        questions=body.questions,
        mappings=body.mappings,
        settlements=body.settlements,
    )
    errors += campaign_errors(campaign)
    if errors:
        raise invalid(errors)
    scope(principal, campaign)
    if not await app.create_campaign(campaign, principal.subject):
        raise Problem(409, "Conflict", f"Campaign {campaign.campaign_id!r} exists already.", type_="conflict")
    stored, row, n = await load(app, campaign.campaign_id, count=True)
    response.headers["Location"] = f"/v1/campaigns/{campaign.campaign_id}"
    return campaign_out(stored, row, n)


@router.get("/campaigns", response_model=CampaignPage, tags=["campaigns"])
async def list_campaigns(
    app: App,
    kind: CampaignKind | None = None,
    status: CampaignStatus | None = None,
    country: Annotated[str | None, Query(pattern="^(LV|RU)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CampaignPage:
    found = await app.list_campaigns(
        kind=kind.value if kind else None,
        status=status.value if status else None,
        country=country,
        limit=limit,
        offset=offset,
    )
    items = [campaign_out(campaign, row, n) for campaign, row, n in found]
    return CampaignPage(items=items, limit=limit, offset=offset)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"])
async def get_campaign(campaign_id: str, app: App) -> CampaignOut:
    return campaign_out(*(await load(app, campaign_id, count=True)))


async def _move(campaign_id: str, principal: Principal, app: App, wanted: CampaignStatus) -> JSONResponse:
    campaign, _row, _n = await load(app, campaign_id)
    scope(principal, campaign)
    try:
        changed = await (app.open_campaign if wanted == CampaignStatus.OPEN else app.close_campaign)(campaign_id)
    except TransitionError as exc:
        raise Problem(
            409,
            "Conflict",
            str(exc),
            type_="invalid-transition",
            errors=[{"field": "status", "message": str(exc), "value": exc.current.value}],
        ) from None
    stored = campaign_out(*(await load(app, campaign_id, count=True)))
    return JSONResponse(
        stored.model_dump(mode="json"), status_code=200, headers={"X-LSG-Changed": str(changed).lower()}
    )


@router.post("/campaigns/{campaign_id}/open", response_model=CampaignOut, tags=["campaigns"])
async def open_campaign(campaign_id: str, principal: Admin, app: App) -> JSONResponse:
    """draft -> open (emits survey.opened). Opening an open campaign is a no-op."""
    return await _move(campaign_id, principal, app, CampaignStatus.OPEN)


@router.post("/campaigns/{campaign_id}/close", response_model=CampaignOut, tags=["campaigns"])
async def close_campaign(campaign_id: str, principal: Admin, app: App) -> JSONResponse:
    """open -> closed. A survey publishes survey.completed with its aggregates, once."""
    return await _move(campaign_id, principal, app, CampaignStatus.CLOSED)


@router.get("/campaigns/{campaign_id}/results", tags=["campaigns"])
async def results(campaign_id: str, app: App) -> dict[str, Any]:
    """The aggregates published when the survey closed (the `survey.completed` data)."""
    campaign, row, _n = await load(app, campaign_id)
    if campaign.status != CampaignStatus.CLOSED or row["results"] is None:
        raise Problem(
            409, "Not available", "Results are published when an opinion survey closes.", type_="results-not-ready"
        )
    # Through the event model, so the fields come back in the contract's order (jsonb does not keep it).
    return SurveyCompleted.model_validate(row["results"]).model_dump(mode="json")


# --- responses ------------------------------------------------------------------------------------


@router.post(
    "/campaigns/{campaign_id}/responses",
    status_code=201,
    response_model=ResponseStored,
    tags=["responses"],
    responses={200: {"description": "A repeat (no-op) or an edit of an earlier submission"}},
)
async def submit_response(
    campaign_id: str, body: ResponseInput, principal: Editor, app: App, pseudo: Pseudo
) -> JSONResponse:
    """One response. 201 when recorded; 200 when it repeats a known submission id (nothing changes) or edits
    an earlier one (`replaces`)."""
    campaign = await writable(app, campaign_id, principal)
    prepared, errors = prepare(campaign, body, pseudo)
    if errors or prepared is None:
        raise invalid(errors)
    outcome = (await _store(app, campaign, [prepared], principal))[0]
    return JSONResponse(
        ResponseStored(response_id=str(outcome.response_id), status=outcome.outcome).model_dump(),
        status_code=201 if outcome.outcome == "recorded" else 200,
        headers={"Location": f"/v1/campaigns/{campaign_id}/responses/{outcome.response_id}"},
    )


async def _store(
    app: SurveysApp, campaign: Campaign, prepared: Sequence[PreparedResponse], principal: Principal
) -> list[StoredOutcome]:
    campaign_id = campaign.campaign_id
    try:
        return await app.record_responses(campaign, prepared, principal.subject)
    except NotFound:
        raise not_found(campaign_id) from None
    except CampaignNotOpen as exc:
        raise not_open(campaign_id, exc.status) from None


async def _batch(
    app: SurveysApp,
    campaign: Campaign,
    principal: Principal,
    checked: list[tuple[int, PreparedResponse | None, list[FieldError], str | None]],
    partial: bool,
) -> JSONResponse:
    """Store the good rows (all or nothing unless `partial`) and report every row."""
    campaign_id = campaign.campaign_id
    rows: dict[int, RowOutcome] = {}
    good: list[PreparedResponse] = []
    for index, prepared, errors, skipped in checked:
        if skipped is not None:
            rows[index] = RowOutcome(row=index, status="skipped", reason=skipped)
        elif errors or prepared is None:
            rows[index] = RowOutcome(row=index, status="rejected", errors=scrub([e.as_dict() for e in errors]))
        else:
            prepared.row = index
            good.append(prepared)
    rejected = [r for r in rows.values() if r.status == "rejected"]
    if rejected and not partial:
        flat = [FieldError(e["field"], e["message"], e.get("value")) for r in rejected for e in r.errors or []]
        raise invalid(
            flat,
            f"{len(rejected)} of {len(checked)} row(s) are invalid; nothing was stored "
            "(add ?partial=true to store the valid rows).",
            rows=[r.model_dump(exclude_none=True) for r in sorted(rows.values(), key=lambda r: r.row)],
        )
    for outcome in await _store(app, campaign, good, principal) if good else []:
        assert outcome.row is not None
        rows[outcome.row] = RowOutcome(row=outcome.row, status=outcome.outcome, response_id=str(outcome.response_id))
    ordered = sorted(rows.values(), key=lambda r: r.row)
    count = {s: sum(1 for r in ordered if r.status == s) for s in ("recorded", "corrected", "duplicate", "skipped")}
    result = BatchResult(
        campaign_id=campaign_id,
        received=len(checked),
        recorded=count["recorded"],
        corrected=count["corrected"],
        duplicates=count["duplicate"],
        skipped=count["skipped"],
        rejected=len(rejected),
        rows=ordered,
    )
    return JSONResponse(result.model_dump(mode="json", exclude_none=True), status_code=201 if result.recorded else 200)


async def writable(app: SurveysApp, campaign_id: str, principal: Principal) -> Campaign:
    """The campaign a write goes to: it exists, the caller may act in its area, it is open. A cached status
    is trusted only when it says open (it is checked again, under a lock, in the write's transaction)."""
    try:
        campaign = await app.definition(campaign_id)
        if campaign.status != CampaignStatus.OPEN:
            campaign = await app.definition(campaign_id, refresh=True)
    except NotFound:
        raise not_found(campaign_id) from None
    scope(principal, campaign)
    if campaign.status != CampaignStatus.OPEN:
        raise not_open(campaign_id, campaign.status)
    return campaign


def _too_many(n: int, limit: int, field: str) -> None:
    if n > limit:
        raise invalid([FieldError(field, f"at most {limit} rows per request; got {n}", n)])


@router.post(
    "/campaigns/{campaign_id}/responses/batch", status_code=201, response_model=BatchResult, tags=["responses"]
)
async def submit_batch(
    campaign_id: str,
    body: BatchIn,
    principal: Editor,
    app: App,
    pseudo: Pseudo,
    request: Request,
    partial: Partial = False,
) -> JSONResponse:
    """Many responses. Every row is checked; with errors and without `partial`, nothing is stored (422 listing
    each row's errors); with `partial=true` the valid rows are stored and the others reported."""
    _too_many(len(body.responses), max_rows(request), "responses")
    campaign = await writable(app, campaign_id, principal)
    checked: list[tuple[int, PreparedResponse | None, list[FieldError], str | None]] = []
    for i, raw in enumerate(body.responses):
        prepared, errors = prepare_raw(campaign, raw, pseudo, prefix=f"responses[{i}]")
        checked.append((i, prepared, errors, None))
    return await _batch(app, campaign, principal, checked, partial)


def _check_import_rows(
    campaign: Campaign, rows: list[ImportRow], pseudo: Pseudonymizer, source: str
) -> list[tuple[int, PreparedResponse | None, list[FieldError], str | None]]:
    checked: list[tuple[int, PreparedResponse | None, list[FieldError], str | None]] = []
    for row in rows:
        prefix = f"rows[{row.row}]"
        if row.skipped is not None:
            checked.append((row.row, None, [], row.skipped))
            continue
        if row.data is None or row.errors:
            checked.append((row.row, None, row.errors, None))
            continue
        found = bad_text(row.data, prefix)
        if found:
            checked.append((row.row, None, found, None))
            continue
        try:
            data = ResponseInput.model_validate(row.data)
        except ValidationError as exc:
            checked.append((row.row, None, pydantic_errors(exc, prefix), None))
            continue
        prepared, errors = prepare(campaign, data, pseudo, source=source, text_choices=True)
        if prepared is not None:
            prepared.replaces = row.replaces_candidates
        checked.append(
            (row.row, prepared, [FieldError(f"{prefix}.{e.field}", e.message, e.value) for e in errors], None)
        )
    return checked


@router.post("/campaigns/{campaign_id}/imports/kobo", status_code=201, response_model=BatchResult, tags=["imports"])
async def import_kobo(
    campaign_id: str,
    principal: Editor,
    app: App,
    pseudo: Pseudo,
    request: Request,
    payload: Annotated[Any, Body(description="KoboToolbox JSON export: a list of submissions or {'results': [...]}")],
    partial: Partial = False,
) -> JSONResponse:
    """Import a KoboToolbox JSON export. Rows are matched to questions through the campaign's `mappings.kobo`
    (else by question id, also inside groups). A known `meta/instanceID` is a repeat; `meta/deprecatedID`
    makes an edit (`survey.response.corrected`)."""
    campaign = await writable(app, campaign_id, principal)
    rows, errors = parse_kobo(campaign, payload)
    if errors:
        raise invalid(errors)
    _too_many(len(rows), max_rows(request), "body")
    return await _batch(app, campaign, principal, _check_import_rows(campaign, rows, pseudo, "kobo"), partial)


@router.post(
    "/campaigns/{campaign_id}/imports/odk",
    status_code=201,
    response_model=BatchResult,
    tags=["imports"],
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_odk(
    campaign_id: str, principal: Editor, app: App, pseudo: Pseudo, request: Request, partial: Partial = False
) -> JSONResponse:
    """Import an ODK Central CSV export (`text/csv`, UTF-8). `KEY` identifies a submission, `meta-instanceID`
    its version: a new version of a known KEY is an edit. Rows with ReviewState `rejected` are skipped."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv", "text/plain"):
        raise Problem(
            415, "Unsupported media type", "Send the ODK Central export as text/csv.", type_="unsupported-media-type"
        )
    campaign = await writable(app, campaign_id, principal)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid([FieldError("body", "the CSV file is not UTF-8")]) from None
    if "\x00" in text:
        raise invalid([FieldError("body", "the CSV file contains NUL characters")])
    rows, errors = parse_odk_csv(campaign, text)
    if errors:
        raise invalid(errors)
    _too_many(len(rows), max_rows(request), "body")
    return await _batch(app, campaign, principal, _check_import_rows(campaign, rows, pseudo, "odk"), partial)


@router.get("/campaigns/{campaign_id}/responses/{response_id}", response_model=ResponseOut, tags=["responses"])
async def get_response(campaign_id: str, response_id: uuid.UUID, principal: Editor, app: App) -> ResponseOut:
    """A stored response with its personal fields (editors of the campaign's area only)."""
    campaign, _row, _n = await load(app, campaign_id)
    scope(principal, campaign)
    row = await app.get_response(campaign_id, response_id)
    if row is None:
        raise Problem(404, "Not found", f"No response {response_id} in campaign {campaign_id!r}.", type_="not-found")
    return ResponseOut(
        response_id=str(row["response_id"]),
        campaign_id=row["campaign_id"],
        respondent_key=row["respondent_key"],
        place=row["place"],
        age_band=row["age_band"],
        gender=row["gender"],
        answers=row["answers"],
        free_text=row["free_text"],
        respondent_name=row["respondent_name"],
        respondent_phone=row["respondent_phone"],
        source=row["source"],
        version=row["version"],
        submission_ids=list(row["submission_ids"]),
        submitted_at=row["submitted_at"],
        recorded_at=row["recorded_at"],
        corrected_at=row["corrected_at"],
        erased_at=row["erased_at"],
    )


# --- erasure --------------------------------------------------------------------------------------


@router.post("/erasure-requests", response_model=ErasureOut, tags=["privacy"])
async def erase(body: ErasureIn, principal: Admin, app: App, pseudo: Pseudo) -> ErasureOut:
    """Erase a person's stored personal data (name, phone, free-text answers) and unlink their pseudonymous
    key. Closed answers stay, so results already published remain true; nothing new is published."""
    errors = bad_text(body.model_dump())
    response_ids: list[uuid.UUID] = []
    for i, rid in enumerate(body.response_ids):
        try:
            response_ids.append(uuid.UUID(rid))
        except ValueError:
            errors.append(FieldError(f"response_ids[{i}]", "not a response id (UUID)", rid))
    if body.name and not body.settlement_code:
        errors.append(FieldError("settlement_code", "a name identifies a person only with the settlement code"))
    if not (body.respondent_ref or body.phone or body.name or response_ids) and not errors:
        errors.append(FieldError("body", "give respondent_ref, phone, name with settlement_code, or response_ids"))
    if errors:
        raise invalid(errors)
    keys = []
    if body.respondent_ref:
        keys.append(pseudo.respondent_key(ref=body.respondent_ref, fallback=""))
    if body.phone:
        keys.append(pseudo.respondent_key(phone=body.phone, fallback=""))
    if body.name and body.settlement_code:
        keys.append(pseudo.respondent_key(name=body.name, settlement_code=body.settlement_code, fallback=""))
    erased = await app.erase(keys=keys, response_ids=response_ids, requested_by=principal.subject)
    return ErasureOut(erased_responses=erased)


# --- meetings: focus groups, consultations, the forum ---------------------------------------------


@router.post("/campaigns/{campaign_id}/gatherings", status_code=201, response_model=GatheringStored, tags=["meetings"])
async def record_gathering(campaign_id: str, body: GatheringIn, principal: Editor, app: App) -> JSONResponse:
    """Record a focus group, public consultation or forum meeting: participant counts by role and gender, the
    settlements represented, the problems and initiatives raised. Events carry the counts, not the texts."""
    campaign, _row, _n = await load(app, campaign_id)
    scope(principal, campaign)
    errors = bad_text(body.model_dump(mode="json"))
    if body.place is not None and not place_within(body.place, campaign.place):
        errors.append(FieldError("place", "the meeting place is outside the campaign's area"))
    if sum(c.count for c in body.participants) > 100_000:
        errors.append(FieldError("participants", "more than 100000 participants"))
    if errors:
        raise invalid(errors)
    if campaign.status != CampaignStatus.OPEN:
        raise invalid(
            [FieldError("campaign_id", f"the campaign is {campaign.status.value}; open it first", campaign_id)]
        )
    gathering_id = body.gathering_id or f"g-{uuid.uuid4().hex}"
    try:
        created = await app.record_gathering(
            campaign_id,
            gathering_id=gathering_id,
            held_on=body.held_on,
            title=body.title,
            place=body.place,
            breakdown=body.participants,
            settlements=body.settlements_represented,
            problems=[s.model_dump() for s in body.problems],
            initiatives=[s.model_dump() for s in body.initiatives],
            recorded_by=principal.subject,
        )
    except WrongKind as exc:
        raise invalid([FieldError("campaign_id", str(exc), campaign_id)]) from None
    except CampaignNotOpen as exc:
        raise not_open(campaign_id, exc.status) from None
    except GatheringIdTaken:
        raise Problem(
            409, "Conflict", f"Gathering id {gathering_id!r} belongs to another campaign.", type_="conflict"
        ) from None
    return JSONResponse(
        GatheringStored(gathering_id=gathering_id, status="recorded" if created else "duplicate").model_dump(),
        status_code=201 if created else 200,
    )


@router.get("/campaigns/{campaign_id}/gatherings", response_model=list[GatheringOut], tags=["meetings"])
async def list_gatherings(campaign_id: str, principal: Viewer, app: App) -> list[GatheringOut]:
    await load(app, campaign_id)
    return [
        GatheringOut(
            gathering_id=r["gathering_id"],
            campaign_id=r["campaign_id"],
            held_on=r["held_on"],
            title=r["title"],
            place=r["place"],
            participants=r["participants"],
            breakdown=r["breakdown"],
            settlements_represented=r["settlements"],
            problems=r["problems"],
            initiatives=r["initiatives"],
            recorded_at=r["recorded_at"],
        )
        for r in await app.list_gatherings(campaign_id)
    ]
