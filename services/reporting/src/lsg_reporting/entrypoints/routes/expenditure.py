"""Expenditure: partners declare entries (editor), first-level control verifies them (the controller acts with
the admin role: the shared auth has no custom roles), corrections are new entries; the list and the burn
(viewer)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from lsg_reporting.application import expenditure, workplan
from lsg_reporting.entrypoints.routes import CatalogueDep, WorkPlanDep
from lsg_reporting.entrypoints.schemas import ExpenditureIn, VerificationIn, entry_json
from lsg_shared.deps import Admin, Editor, Limit, Offset, RuntimeDep, Viewer
from lsg_shared.inputs import SafeText
from lsg_shared.openapi import REPEAT

router = APIRouter(prefix="/v1/expenditure", tags=["money"])


def _input(body: ExpenditureIn) -> expenditure.EntryInput:
    return expenditure.EntryInput(
        partner=body.partner,
        category=body.category,
        work_package=body.work_package,
        activity=body.activity,
        spent_on=body.spent_on,
        amount=body.amount,
        currency=body.currency,
        rate=body.rate,
        vat=body.vat,
        vat_recoverable=body.vat_recoverable,
        invoice_ref=body.invoice_ref,
        description=body.description.model_dump(),
        evidence_ref=body.evidence_ref,
        entry_id=body.entry_id,
    )


@router.post("", status_code=201, summary="Declare an expenditure entry (expenditure.recorded)", responses=REPEAT)
async def declare(
    body: ExpenditureIn, response: Response, catalogue: CatalogueDep, rt: RuntimeDep, principal: Editor
) -> dict[str, Any]:
    created, row = await expenditure.record(rt.uow, catalogue, _input(body), recorded_by=principal.subject)
    response.status_code = 201 if created else 200
    return entry_json(row)


@router.post(
    "/{entry_id}/corrections",
    status_code=201,
    summary="Correct an entry: a new entry that supersedes it (in a locked period: an adjustment in the next)",
    responses=REPEAT,
)
async def correct(
    entry_id: SafeText,
    body: ExpenditureIn,
    response: Response,
    catalogue: CatalogueDep,
    rt: RuntimeDep,
    principal: Editor,
) -> dict[str, Any]:
    created, row = await expenditure.record(
        rt.uow, catalogue, _input(body), recorded_by=principal.subject, corrects=entry_id
    )
    response.status_code = 201 if created else 200
    return entry_json(row)


@router.post("/{entry_id}/verification", summary="First-level control: eligible and ineligible (expenditure.verified)")
async def verify(entry_id: SafeText, body: VerificationIn, rt: RuntimeDep, principal: Admin) -> dict[str, Any]:
    row = await expenditure.verify(
        rt.uow,
        entry_id,
        eligible=body.eligible_eur,
        ineligible=body.ineligible_eur,
        note=body.note,
        controller=principal.subject,
    )
    return entry_json(row)


@router.get("", summary="Expenditure entries (optionally of one reporting period)")
async def list_entries(
    rt: RuntimeDep,
    _: Viewer,
    period: str | None = Query(None, pattern=r"^P[0-9]{1,2}$"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows = await expenditure.listing(rt.uow, period_id=period, limit=limit, offset=offset)
    return {"items": [entry_json(r) for r in rows]}


@router.get(
    "/burn",
    summary="Spent vs budget per partner, category, work package and month; time %; output progress %; forecast",
)
async def burn(
    catalogue: CatalogueDep, plan: WorkPlanDep, rt: RuntimeDep, _: Viewer, on: date | None = None
) -> dict[str, Any]:
    out = await expenditure.burn(rt.uow, catalogue, on)
    # the same day's output progress (indicators linked to each work package), forecasts per partner and package
    out["progress"] = await workplan.burn_progress(rt.uow, catalogue, plan, date.fromisoformat(out["on"]))
    return out
