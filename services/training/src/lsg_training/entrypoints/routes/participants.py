"""``/v1/participants`` and enrolments: people (names stay here) and their programmes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from lsg_shared.deps import Editor, Limit, Offset, RuntimeDep, Viewer
from lsg_shared.inputs import SafeText
from lsg_training.application import imports, participants
from lsg_training.entrypoints.routes.params import CSV_BODY, Encoding, OnErrorQ, settings_of, sheet_body
from lsg_training.entrypoints.schemas import ParticipantIds, ParticipantIn, ParticipantPatch, participant_out

router = APIRouter(prefix="/v1", tags=["participants"])


@router.post(
    "/participants",
    status_code=201,
    summary="Register a participant",
    responses={200: {"description": "Registered already (the same identity): the participant as stored"}},
)
async def create_participant(
    body: ParticipantIn,
    rt: RuntimeDep,
    who: Editor,
    response: Response,
    programme_id: Annotated[SafeText | None, Query(description="Also enrol in this programme")] = None,
) -> dict[str, Any]:
    row, created = await participants.register_participant(
        rt.uow, who, settings_of(rt).pseudonym_key(), body.details(), body.place, body.place_code, programme_id
    )
    if not created:
        response.status_code = 200
    return participant_out(row)


@router.post(
    "/participants/import", summary="Register participants from a CSV sheet (lv/ru/en headings)", openapi_extra=CSV_BODY
)
async def import_participants(
    request: Request,
    rt: RuntimeDep,
    who: Editor,
    programme_id: Annotated[SafeText | None, Query(description="Also enrol everyone in this programme")] = None,
    on_error: OnErrorQ = "reject",
    encoding: Encoding = None,
) -> dict[str, Any]:
    """Columns (any order; Latvian, Russian or English headings): ``name`` (Vārds, uzvārds / ФИО), ``role``
    (Loma / Роль), ``country`` (Valsts / Страна), optional ``ref``, ``place_code``, ``gender``, ``organisation``,
    ``email``, ``phone``. Row numbers are as in a spreadsheet (the heading is row 1)."""
    raw = await sheet_body(request)
    return await imports.import_participants(
        rt.uow,
        who,
        settings_of(rt).pseudonym_key(),
        raw,
        encoding=encoding,
        programme_id=programme_id,
        on_error=on_error,
    )


@router.get("/participants", summary="Participants (personal data: viewer)")
async def get_participants(
    rt: RuntimeDep,
    who: Viewer,
    programme_id: SafeText | None = None,
    country: Annotated[str | None, Query(pattern="^(LV|RU)$")] = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    rows = await participants.list_participants(
        rt.uow, who, programme_id=programme_id, country=country, limit=limit, offset=offset
    )
    return [participant_out(r) for r in rows]


@router.get("/participants/{participant_id}", summary="One participant")
async def get_participant(participant_id: uuid.UUID, rt: RuntimeDep, who: Viewer) -> dict[str, Any]:
    return participant_out(await participants.get_participant(rt.uow, who, participant_id))


@router.patch("/participants/{participant_id}", summary="Correct a participant's details")
async def patch_participant(
    participant_id: uuid.UUID, body: ParticipantPatch, rt: RuntimeDep, who: Editor
) -> dict[str, Any]:
    """Corrections apply to events told from now on; events already told are not rewritten."""
    changes = body.model_dump(exclude_unset=True)
    return participant_out(await participants.correct_participant(rt.uow, who, participant_id, changes))


@router.post("/programmes/{programme_id}/enrolments", summary="Enrol participants")
async def enrol(programme_id: str, body: ParticipantIds, rt: RuntimeDep, who: Editor) -> dict[str, Any]:
    added, already, events = await participants.enrol(rt.uow, who, programme_id, body.participant_ids)
    return {"enrolled": added, "already": already, "events": events}


@router.get("/programmes/{programme_id}/participants", summary="Enrolled participants")
async def enrolled(programme_id: str, rt: RuntimeDep, who: Viewer) -> list[dict[str, Any]]:
    """Each enrolled participant with progress: modules attended, currently complete, date first completed."""
    return [
        {
            **participant_out(r),
            "modules_attended": modules,
            "currently_complete": r["currently_complete"],
            "completed_on": r["completed_on"],
        }
        for r, modules in await participants.enrolled(rt.uow, who, programme_id)
    ]
