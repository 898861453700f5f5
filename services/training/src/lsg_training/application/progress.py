"""Progress: a participant's attended modules and completion, recomputed from the attendance records inside the
caller's transaction, with the events in the outbox of that same transaction (nothing is half-written, nothing is
told that was not stored). Every use case that changes attendance, modules or the rule ends here.

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

from lsg_events import CloudEvent, TrainingAttended, TrainingCompleted
from lsg_events.geography import Place
from lsg_shared.uow import Transaction
from lsg_training.adapters import postgres as repo
from lsg_training.domain.rules import CompletionRule, attended_modules, module_changes

_NS = uuid.UUID("6f1d2a64-6a53-4c43-9d3e-4c1f1f0b7a11")


def event_id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


async def recompute(tx: Transaction, programme_id: str, participant_id: uuid.UUID) -> list[CloudEvent]:
    """Recompute one participant's modules and completion from the attendance records; tell what changed."""
    conn = tx.conn
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
        events += await tx.emit(data, id=eid)
    rule = CompletionRule.model_validate(programme["completion_rule"] or {})
    complete = rule.is_met(modules, current)
    first_completion: date | None = None
    if complete and enrolment["completed_on"] is None:
        first_completion = max(a.attended_on for a in current.values())
        data_c = TrainingCompleted(
            **common, completed_on=first_completion, modules=sorted(current, key=_order(modules))
        )
        events += await tx.emit(data_c, id=event_id("completed", programme_id, participant_id))
    if complete != enrolment["currently_complete"] or first_completion is not None:
        await repo.set_completion(conn, programme_id, participant_id, currently=complete, first_on=first_completion)
    return events


def _order(modules: list[str]) -> Callable[[str], int]:
    position = {code: i for i, code in enumerate(modules)}
    return lambda code: position.get(code, len(position))


async def recompute_many(tx: Transaction, programme_id: str, participant_ids: Iterable[uuid.UUID]) -> list[CloudEvent]:
    events: list[CloudEvent] = []
    # A fixed order of row locks, so two bulk writes for the same programme cannot deadlock.
    for pid in sorted(set(participant_ids)):
        events += await recompute(tx, programme_id, pid)
    return events


async def recompute_programme(tx: Transaction, programme_id: str) -> list[CloudEvent]:
    return await recompute_many(tx, programme_id, await repo.enrolled_ids(tx.conn, programme_id))
