"""Use cases that change state and emit events: each runs on the caller's connection, inside its transaction,
and puts its events in the outbox in that same transaction (nothing is half-written, nothing is told that
was not stored).

Corrections and what has already been told (events are facts):

* ``training.attended`` is told once per (programme, participant, module) when the module becomes attended.
  If a correction later means it is no longer attended, a ``training.attended`` with ``withdrawn: true`` and the
  next ``revision`` is told; if it becomes attended again, another with ``withdrawn: false``. The latest
  revision per pair is the current state; duplicates and corrections that change nothing tell nothing.
* ``training.completed`` is told at most once per (programme, participant), the first time the completion rule
  holds, and never withdrawn: it records that the participant reached completion on that date. A later
  correction shows in the service (``currently_complete``, the attendance sheet, and no certificate while
  incomplete) and in the withdrawn ``training.attended``; re-completing tells nothing new.
* Event ids are derived from what they state, so even a retried transaction cannot put the same fact in the
  outbox twice (the outbox ignores a repeated id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from lsg_events import ActivityHeld, CloudEvent, TrainingAttended, TrainingCompleted, TrainingSessionHeld
from lsg_events.base import EventData, ParticipantCount
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_shared.db import Conn
from lsg_shared.outbox import enqueue
from lsg_training.adapters import postgres as repo
from lsg_training.domain.rules import CompletionRule, attended_modules, module_changes

MakeEvent = Callable[..., CloudEvent]
_NS = uuid.UUID("6f1d2a64-6a53-4c43-9d3e-4c1f1f0b7a11")


def event_id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


async def recompute(
    conn: Conn, make_event: MakeEvent, programme_id: str, participant_id: uuid.UUID
) -> list[CloudEvent]:
    """Recompute one participant's modules and completion from the attendance records; tell what changed."""
    enrolment = await repo.lock_enrolment(conn, programme_id, participant_id)
    if enrolment is None:
        return []
    programme = await repo.get_programme(conn, programme_id)
    participant = await repo.get_participant(conn, participant_id)
    assert programme is not None
    assert participant is not None
    modules = [m["code"] for m in await repo.list_modules(conn, programme_id)]
    sessions = await repo.session_infos(conn, programme_id)
    current = attended_modules(sessions, await repo.present_sessions(conn, programme_id, participant_id))
    stored = await repo.module_status(conn, programme_id, participant_id)
    previous = {code: (row["attended"], row["revision"]) for code, row in stored.items()}
    common: dict[str, Any] = {
        "programme_id": programme_id,
        "participant_key": participant["key"],
        "role": participant["role"],
        "country": participant["country"],
        "place": Place.model_validate(participant["place"]),
        "gender": participant["gender"],
    }
    events: list[CloudEvent] = []
    for change in module_changes(previous, current):
        if change.attended and change.attendance is not None:
            session_id, on = change.attendance.last_session_id, change.attendance.attended_on
        else:
            session_id, on = stored[change.module_code]["last_session_id"], stored[change.module_code]["attended_on"]
        await repo.save_module_status(
            conn,
            programme_id,
            participant_id,
            change.module_code,
            attended=change.attended,
            revision=change.revision,
            last_session_id=session_id,
            attended_on=on,
        )
        data = TrainingAttended(
            **common,
            module_code=change.module_code,
            session_id=session_id,
            attended_on=on,
            withdrawn=not change.attended,
            revision=change.revision,
        )
        eid = event_id("attended", programme_id, participant_id, change.module_code, change.revision)
        events.append(make_event(data, id=eid))
    rule = CompletionRule.model_validate(programme["completion_rule"] or {})
    complete = rule.is_met(modules, current)
    first_completion: date | None = None
    if complete and enrolment["completed_on"] is None:
        first_completion = max(a.attended_on for a in current.values())
        data_c = TrainingCompleted(
            **common, completed_on=first_completion, modules=sorted(current, key=_order(modules))
        )
        events.append(make_event(data_c, id=event_id("completed", programme_id, participant_id)))
    if complete != enrolment["currently_complete"] or first_completion is not None:
        await repo.set_completion(conn, programme_id, participant_id, currently=complete, first_on=first_completion)
    await enqueue(conn, *events)
    return events


def _order(modules: list[str]) -> Callable[[str], int]:
    position = {code: i for i, code in enumerate(modules)}
    return lambda code: position.get(code, len(position))


async def recompute_many(
    conn: Conn, make_event: MakeEvent, programme_id: str, participant_ids: Iterable[uuid.UUID]
) -> list[CloudEvent]:
    events: list[CloudEvent] = []
    # A fixed order of row locks, so two bulk writes for the same programme cannot deadlock.
    for pid in sorted(set(participant_ids)):
        events += await recompute(conn, make_event, programme_id, pid)
    return events


async def recompute_programme(conn: Conn, make_event: MakeEvent, programme_id: str) -> list[CloudEvent]:
    return await recompute_many(conn, make_event, programme_id, await repo.enrolled_ids(conn, programme_id))


async def close_session(conn: Conn, make_event: MakeEvent, session: Any) -> CloudEvent:
    module = await repo.get_module(conn, session["programme_id"], session["module_code"])
    assert module is not None
    data = TrainingSessionHeld(
        programme_id=session["programme_id"],
        session_id=session["id"],
        module_code=session["module_code"],
        module_title=LocalizedText.model_validate(module["title"]),
        held_on=session["held_on"],
        place=Place.model_validate(session["place"]),
        language=session["language"],
        trainers=len(session["trainers"] or []),
        attendees=await repo.count_present(conn, session["id"]),
    )
    event = make_event(data, id=event_id("session.held", session["id"]))
    await repo.mark_session_closed(conn, session["id"])
    await enqueue(conn, event)
    return event


async def hold_activity(conn: Conn, make_event: MakeEvent, activity: Any) -> CloudEvent:
    cells = await repo.activity_breakdown(conn, activity["id"])
    breakdown = [
        ParticipantCount(country=c["country"], role=c["role"], gender=c["gender"], count=c["n"]) for c in cells
    ]
    data: EventData = ActivityHeld(
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
    event = make_event(data, id=event_id("activity.held", activity["id"]))
    await repo.mark_activity_held(conn, activity["id"])
    await enqueue(conn, event)
    return event
