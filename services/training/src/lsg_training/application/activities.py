"""Study tours, conferences and staff exchanges: planned, participants recorded, reported held once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from lsg_events import ActivityHeld, CloudEvent
from lsg_events.base import ParticipantCount
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application import progress, records
from lsg_training.application.errors import Conflict, Invalid
from lsg_training.application.participants import unknown_participants
from lsg_training.application.places import resolve_place
from lsg_training.application.residency import residency_of
from lsg_training.domain.places import municipality_of


@dataclass(frozen=True, slots=True)
class NewActivity:
    id: str | None
    kind: str
    title: dict[str, str]
    starts_on: date
    ends_on: date
    place: Place | None
    place_code: str | None
    programme_id: str | None


async def plan_activity(uow: UnitOfWork, who: Principal, new: NewActivity) -> tuple[Any, int, bool]:
    """(activity, participants, created). The same activity again is not created; a different one conflicts."""
    async with uow.begin() as tx:
        conn = tx.conn
        if new.programme_id is not None:
            await records.programme(conn, new.programme_id, field="programme_id")
        place = await resolve_place(conn, new.place, new.place_code)
        ensure_scope(who, place.country, municipality_of(place))
        data: dict[str, Any] = {
            "id": new.id or records.new_id(),
            "kind": new.kind,
            "title": new.title,
            "starts_on": new.starts_on,
            "ends_on": new.ends_on,
            "place": place.model_dump(mode="json"),
            "programme_id": new.programme_id,
        }
        existing = await repo.get_activity(conn, data["id"]) if new.id else None
        if existing is not None:
            if any(existing[k] != data[k] for k in ("kind", "starts_on", "ends_on", "title")):
                raise Conflict(f"Activity {new.id!r} exists with other details.", "id")
            return existing, len(await repo.activity_participants(conn, existing["id"])), False
        await repo.insert_activity(conn, data)
        return await repo.get_activity(conn, data["id"]), 0, True


async def list_activities(uow: UnitOfWork) -> list[Any]:
    async with uow.read() as conn:
        return await repo.list_activities(conn)


async def get_activity(uow: UnitOfWork, activity_id: str) -> tuple[Any, list[Any]]:
    """The activity and its participants."""
    async with uow.read() as conn:
        row = await records.activity(conn, activity_id)
        people = await repo.activity_participants(conn, activity_id)
    return row, await residency_of(uow).fill(people)


async def add_participants(uow: UnitOfWork, activity_id: str, ids: list[uuid.UUID]) -> tuple[int, int, int]:
    """(added, already recorded, participants in all). All or nothing."""
    async with uow.begin() as tx:
        conn = tx.conn
        activity = await records.activity(conn, activity_id, lock=True)
        if activity["held_at"] is not None:
            raise Conflict(
                f"Activity {activity_id} was already reported as held; its participants are final.",
                "path:activity_id",
                "activity-held",
            )
        found = await repo.participants_by_ids(conn, ids)
        missing = unknown_participants(ids, found)
        if missing:
            raise Invalid(f"{len(missing)} unknown participant(s); nobody was added.", missing, "unknown-participant")
        added = await repo.add_activity_participants(conn, activity_id, list(found))
        total = len(await repo.activity_participants(conn, activity_id))
    return added, len(found) - added, total


async def remove_participant(uow: UnitOfWork, activity_id: str, participant_id: uuid.UUID) -> bool:
    async with uow.begin() as tx:
        activity = await records.activity(tx.conn, activity_id, lock=True)
        if activity["held_at"] is not None:
            raise Conflict(f"Activity {activity_id} was already reported as held.", "path:activity_id", "activity-held")
        return await repo.remove_activity_participant(tx.conn, activity_id, participant_id)


async def report_held(uow: UnitOfWork, who: Principal, activity_id: str) -> CloudEvent | None:
    """Tell ``activity.held`` once, with participants by country, role and gender; None when told already."""
    async with uow.begin() as tx:
        conn = tx.conn
        activity = await records.activity(conn, activity_id, lock=True)
        ensure_scope(who, activity["place"]["country"], municipality_of(activity["place"]))
        if activity["held_at"] is not None:
            return None
        if activity["ends_on"] > records.today():
            raise Conflict(
                f"Activity {activity_id} ends on {activity['ends_on']}: it has not been held yet.",
                "ends_on",
                "activity-not-held",
            )
        if not await repo.activity_participants(conn, activity_id):
            raise Conflict("The activity has no participants recorded.", "participants", "activity-empty")
        return await _tell_held(tx, activity)


async def _tell_held(tx: Transaction, activity: Any) -> CloudEvent:
    conn = tx.conn
    cells = await repo.activity_breakdown(conn, activity["id"])
    breakdown = [
        ParticipantCount(country=c["country"], role=c["role"], gender=c["gender"], count=c["n"]) for c in cells
    ]
    data = ActivityHeld(
        activity_id=activity["id"],
        kind=activity["kind"],
        title=LocalizedText.model_validate(activity["title"]),
        starts_on=activity["starts_on"],
        ends_on=activity["ends_on"],
        place=Place.model_validate(activity["place"]),
        participants=sum(c.count for c in breakdown),
        breakdown=breakdown,
        programme_id=activity["programme_id"],
    )
    await repo.mark_activity_held(conn, activity["id"])
    (event,) = await tx.emit(data, id=progress.event_id("activity.held", activity["id"]))
    return event
