"""Attendance: check-ins and corrections, each recomputing the participant's progress in the same transaction."""

from __future__ import annotations

import uuid
from typing import Any

from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.uow import UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application import progress, records
from lsg_training.application.errors import Invalid
from lsg_training.application.residency import residency_of
from lsg_training.domain.places import municipality_of


def not_happened(session: Any) -> str:
    return f"session {session['id']} ({session['module_code']}, {session['held_on']}) has not happened yet"


async def check_in(
    uow: UnitOfWork,
    who: Principal,
    session_id: str,
    *,
    participant_id: uuid.UUID | None,
    ref: str | None,
    present: bool,
) -> tuple[uuid.UUID, str, int]:
    """(participant id, outcome: created/changed/unchanged, events told) of one check-in or correction."""
    async with uow.begin() as tx:
        conn = tx.conn
        session = await records.session(conn, session_id)
        ensure_scope(who, session["place"]["country"], municipality_of(session["place"]))
        if session["held_on"] > records.today():
            raise Invalid(
                not_happened(session).capitalize() + ".",
                [{"field": "path:session_id", "message": not_happened(session)}],
                "session-not-held",
            )
        if participant_id is not None:
            participant = await repo.get_participant(conn, participant_id)
            field, value = "participant_id", str(participant_id)
        else:
            participant = await repo.participants_by_sealed(conn, "ref", residency_of(uow).lookups("ref", ref or ""))
            field, value = "ref", ref or ""
        if participant is None:
            raise Invalid(
                f"Unknown participant {value}.",
                [{"field": field, "message": "unknown participant", "value": value}],
                "unknown-participant",
            )
        if await repo.lock_enrolment(conn, session["programme_id"], participant["id"]) is None:
            raise Invalid(
                f"Participant {value} is not enrolled in programme {session['programme_id']}.",
                [{"field": field, "message": "not enrolled in the session's programme", "value": value}],
                "not-enrolled",
            )
        outcome = await repo.record_attendance(conn, session["id"], participant["id"], present, "check-in")
        events = []
        if outcome != "unchanged":
            events = await progress.recompute(tx, session["programme_id"], participant["id"])
    return participant["id"], outcome, len(events)


async def withdraw(uow: UnitOfWork, who: Principal, session_id: str, participant_id: uuid.UUID) -> tuple[bool, int]:
    """(whether a record was withdrawn, events told)."""
    async with uow.begin() as tx:
        conn = tx.conn
        session = await records.session(conn, session_id)
        ensure_scope(who, session["place"]["country"], municipality_of(session["place"]))
        await records.participant(conn, participant_id)
        await repo.lock_enrolment(conn, session["programme_id"], participant_id)  # same lock order as check-in
        deleted = await repo.delete_attendance(conn, session_id, participant_id)
        events = await progress.recompute(tx, session["programme_id"], participant_id) if deleted else []
    return deleted, len(events)


async def session_attendance(uow: UnitOfWork, session_id: str) -> list[Any]:
    async with uow.read() as conn:
        await records.session(conn, session_id)
        rows = await repo.session_attendance(conn, session_id)
    return await _with_names(uow, rows)


async def _with_names(uow: UnitOfWork, rows: list[Any]) -> list[Any]:
    """Attendance rows carry the participant's name and ref: read back from the personal database if there."""
    residency = residency_of(uow)
    if not any(r["residence"] for r in rows):
        return rows
    people = {p["id"]: p for p in await residency.fill(await _people(uow, [r["participant_id"] for r in rows]))}
    filled = [
        {**dict(r), "full_name": people[r["participant_id"]]["full_name"], "ref": people[r["participant_id"]]["ref"]}
        for r in rows
    ]
    return sorted(filled, key=lambda r: (r["full_name"], str(r["participant_id"])))


async def _people(uow: UnitOfWork, ids: list[uuid.UUID]) -> list[Any]:
    async with uow.read() as conn:
        return list((await repo.participants_by_ids(conn, ids)).values())
