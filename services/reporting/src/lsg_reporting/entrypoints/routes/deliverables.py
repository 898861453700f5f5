"""Deliverables no other service records (printed handbooks, agreements...): recorded and corrected by editors,
listed for viewers; each record is a `deliverable.recorded` event."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from lsg_events.reporting import DeliverableRecorded
from lsg_reporting.application import deliverables
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.entrypoints.routes import CatalogueDep
from lsg_reporting.entrypoints.schemas import DeliverableIn, deliverable_json
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.deps import Editor, Limit, Offset, RuntimeDep, Viewer
from lsg_shared.openapi import REPEAT
from lsg_shared.problems import invalid_field

router = APIRouter(prefix="/v1/deliverables", tags=["deliverables"])


def _recorded(catalogue: Catalogue, body: DeliverableIn, deliverable_id: str) -> DeliverableRecorded:
    return deliverables.recorded(
        catalogue,
        deliverable_id=deliverable_id,
        kind=body.kind,
        quantity=body.quantity,
        language=body.language,
        recorded_on=body.recorded_on,
        evidence_url=str(body.evidence_url) if body.evidence_url else None,
        place=body.place,
    )


def _authorise_place(principal: Principal, body: DeliverableIn) -> None:
    if body.place is not None:
        ensure_scope(principal, body.place.country, body.place.municipality.code if body.place.municipality else None)


@router.post(
    "", status_code=201, summary="Record a printed or published deliverable (deliverable.recorded)", responses=REPEAT
)
async def create_deliverable(
    body: DeliverableIn, response: Response, catalogue: CatalogueDep, rt: RuntimeDep, principal: Editor
) -> dict[str, Any]:
    data = _recorded(catalogue, body, body.deliverable_id or uuid.uuid4().hex)
    _authorise_place(principal, body)
    created, row = await deliverables.record(rt.uow, data, recorded_by=principal.subject, correction=False)
    response.status_code = 201 if created else 200
    return deliverable_json(row)


@router.put(
    "/{deliverable_id}", summary="Correct a deliverable: the new record supersedes the earlier one in every figure"
)
async def correct_deliverable(
    deliverable_id: str, body: DeliverableIn, catalogue: CatalogueDep, rt: RuntimeDep, principal: Editor
) -> dict[str, Any]:
    data = _recorded(catalogue, body, deliverable_id)
    if body.deliverable_id is not None and body.deliverable_id != deliverable_id:
        raise invalid_field("deliverable_id", "differs from the id in the path")
    _authorise_place(principal, body)
    _, row = await deliverables.record(rt.uow, data, recorded_by=principal.subject, correction=True)
    return deliverable_json(row)


@router.get("", summary="Deliverables recorded through this API")
async def list_deliverables(rt: RuntimeDep, _: Viewer, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    rows = await deliverables.listing(rt.uow, limit=limit, offset=offset)
    return {"items": [deliverable_json(r) for r in rows]}
