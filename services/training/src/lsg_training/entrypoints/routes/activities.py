"""``/v1/activities``: study tours, conferences and staff exchanges."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from lsg_shared.deps import Editor, RuntimeDep, Viewer
from lsg_shared.openapi import REPEAT
from lsg_training.application import activities
from lsg_training.application.activities import NewActivity
from lsg_training.entrypoints.schemas import ActivityIn, ParticipantIds, activity_out, participant_out

router = APIRouter(prefix="/v1", tags=["activities"])


@router.post("/activities", status_code=201, summary="Plan a study tour, conference or exchange", responses=REPEAT)
async def create_activity(body: ActivityIn, rt: RuntimeDep, who: Editor, response: Response) -> dict[str, Any]:
    new = NewActivity(
        id=body.id,
        kind=str(body.kind),
        title=body.title.model_dump(),
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        place=body.place,
        place_code=body.place_code,
        programme_id=body.programme_id,
    )
    row, participants, created = await activities.plan_activity(rt.uow, who, new)
    if not created:
        response.status_code = 200
    return activity_out(row, participants)


@router.get("/activities", summary="Activities")
async def get_activities(rt: RuntimeDep, who: Viewer) -> list[dict[str, Any]]:
    return [activity_out(a) for a in await activities.list_activities(rt.uow)]


@router.get("/activities/{activity_id}", summary="One activity with its participants")
async def get_activity(activity_id: str, rt: RuntimeDep, who: Viewer) -> dict[str, Any]:
    row, people = await activities.get_activity(rt.uow, activity_id)
    return {**activity_out(row, len(people)), "participant_list": [participant_out(p) for p in people]}


@router.post("/activities/{activity_id}/participants", summary="Record participation")
async def add_participation(activity_id: str, body: ParticipantIds, rt: RuntimeDep, who: Editor) -> dict[str, Any]:
    """Add participants (idempotent: someone already recorded is not counted twice). All or nothing."""
    added, already, total = await activities.add_participants(rt.uow, activity_id, body.participant_ids)
    return {"activity_id": activity_id, "added": added, "already": already, "participants": total}


@router.delete(
    "/activities/{activity_id}/participants/{participant_id}",
    summary="Remove a participant (before the activity is reported held)",
)
async def remove_participation(
    activity_id: str, participant_id: uuid.UUID, rt: RuntimeDep, who: Editor
) -> dict[str, Any]:
    removed = await activities.remove_participant(rt.uow, activity_id, participant_id)
    return {"activity_id": activity_id, "participant_id": str(participant_id), "changed": removed}


@router.post("/activities/{activity_id}/held", summary="Report the activity held")
async def activity_held(activity_id: str, rt: RuntimeDep, who: Editor) -> dict[str, Any]:
    """Emits ``activity.held`` once, with participants by country, role and gender. Repeating changes nothing."""
    event = await activities.report_held(rt.uow, who, activity_id)
    if event is None:
        return {"activity_id": activity_id, "held": True, "changed": False}
    return {
        "activity_id": activity_id,
        "held": True,
        "changed": True,
        "event_id": event.id,
        "participants": getattr(event.data, "participants", None),
    }
