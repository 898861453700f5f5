"""``/v1/programmes/{id}/sessions`` and ``/v1/sessions``: sessions of a module."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from lsg_shared.deps import Editor, RuntimeDep, Viewer
from lsg_shared.openapi import REPEAT
from lsg_training.application import sessions
from lsg_training.application.sessions import NewSession
from lsg_training.entrypoints.schemas import SessionIn, session_out

router = APIRouter(prefix="/v1", tags=["sessions"])


@router.post("/programmes/{programme_id}/sessions", status_code=201, summary="Schedule a session", responses=REPEAT)
async def create_session(
    programme_id: str, body: SessionIn, rt: RuntimeDep, who: Editor, response: Response
) -> dict[str, Any]:
    new = NewSession(
        id=body.id,
        module_code=body.module_code,
        held_on=body.held_on,
        place=body.place,
        place_code=body.place_code,
        trainers=body.trainers,
        language=body.language,
    )
    row, created = await sessions.schedule_session(rt.uow, who, programme_id, new)
    if not created:
        response.status_code = 200
    return session_out(row)


@router.get("/programmes/{programme_id}/sessions", summary="Sessions of a programme")
async def get_sessions(programme_id: str, rt: RuntimeDep, who: Viewer) -> list[dict[str, Any]]:
    return [session_out(s) for s in await sessions.list_sessions(rt.uow, programme_id)]


@router.get("/sessions/{session_id}", summary="One session")
async def get_session(session_id: str, rt: RuntimeDep, who: Viewer) -> dict[str, Any]:
    return session_out(await sessions.get_session(rt.uow, session_id))


@router.post("/sessions/{session_id}/close", summary="Close the sign-in: tell the session was held")
async def close_session(session_id: str, rt: RuntimeDep, who: Editor) -> dict[str, Any]:
    """Emits ``training.session.held`` once, with the number present. Repeating it changes nothing."""
    event = await sessions.close_session(rt.uow, who, session_id)
    if event is None:
        return {"session_id": session_id, "closed": True, "changed": False}
    return {"session_id": session_id, "closed": True, "changed": True, "event_id": event.id}
