"""``/v1/sessions/{id}/attendance`` and the sign-in sheets: check-ins, corrections, CSV imports."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from lsg_shared.deps import Editor, RuntimeDep, Viewer
from lsg_training.application import attendance, imports
from lsg_training.entrypoints.routes.params import CSV_BODY, Encoding, OnErrorQ, sheet_body
from lsg_training.entrypoints.schemas import CheckIn

router = APIRouter(prefix="/v1", tags=["attendance"])


@router.post(
    "/sessions/{session_id}/attendance",
    summary="Check in (or correct) one participant",
    responses={201: {"description": "A new attendance record"}},
)
async def check_in(session_id: str, body: CheckIn, rt: RuntimeDep, who: Editor, response: Response) -> dict[str, Any]:
    """Record one participant present (``present: true``, the default) or absent (a correction). The same
    check-in twice is one record (200, ``changed: false``); a new record answers 201."""
    participant_id, outcome, events = await attendance.check_in(
        rt.uow, who, session_id, participant_id=body.participant_id, ref=body.ref, present=body.present
    )
    response.status_code = 201 if outcome == "created" else 200
    return {
        "session_id": session_id,
        "participant_id": str(participant_id),
        "present": body.present,
        "changed": outcome != "unchanged",
        "events": events,
    }


@router.delete(
    "/sessions/{session_id}/attendance/{participant_id}", summary="Withdraw an attendance record (a correction)"
)
async def withdraw(session_id: str, participant_id: uuid.UUID, rt: RuntimeDep, who: Editor) -> dict[str, Any]:
    deleted, events = await attendance.withdraw(rt.uow, who, session_id, participant_id)
    return {"session_id": session_id, "participant_id": str(participant_id), "changed": deleted, "events": events}


@router.get("/sessions/{session_id}/attendance", summary="Attendance of a session")
async def get_attendance(session_id: str, rt: RuntimeDep, who: Viewer) -> list[dict[str, Any]]:
    return [
        {
            "participant_id": str(r["participant_id"]),
            "full_name": r["full_name"],
            "ref": r["ref"],
            "present": r["present"],
            "source": r["source"],
            "updated_at": r["updated_at"],
        }
        for r in await attendance.session_attendance(rt.uow, session_id)
    ]


@router.post(
    "/sessions/{session_id}/attendance/import", summary="Import a session's CSV sign-in sheet", openapi_extra=CSV_BODY
)
async def import_session_sheet(
    session_id: str,
    request: Request,
    rt: RuntimeDep,
    who: Editor,
    on_error: OnErrorQ = "reject",
    encoding: Encoding = None,
) -> dict[str, Any]:
    """Columns: who (``participant_id``, ``ref`` or ``name`` — Vārds, uzvārds / ФИО, matched among the enrolled
    participants), and optionally ``present`` (jā/nē, да/нет, 1/0) or ``signature`` (Paraksts / Подпись: signed =
    present). Without either, every listed participant is present. Row numbers as in a spreadsheet."""
    raw = await sheet_body(request)
    return await imports.import_signin(rt.uow, who, raw, encoding=encoding, on_error=on_error, session_id=session_id)


@router.post(
    "/programmes/{programme_id}/attendance/import",
    summary="Import a programme's CSV sign-in sheet (a session column per row)",
    openapi_extra=CSV_BODY,
)
async def import_programme_sheet(
    programme_id: str,
    request: Request,
    rt: RuntimeDep,
    who: Editor,
    on_error: OnErrorQ = "reject",
    encoding: Encoding = None,
) -> dict[str, Any]:
    """As the session sheet, plus per row a ``session`` id (Nodarbība / Занятие) or ``module`` + ``date``
    (Modulis + Datums / Модуль + Дата)."""
    raw = await sheet_body(request)
    return await imports.import_signin(
        rt.uow, who, raw, encoding=encoding, on_error=on_error, programme_id=programme_id
    )
