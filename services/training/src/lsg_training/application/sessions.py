"""Sessions of a module: scheduled, then closed (``training.session.held``, told once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from lsg_events import CloudEvent, TrainingSessionHeld
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application import progress, records
from lsg_training.application.errors import Conflict, Invalid
from lsg_training.application.places import resolve_place
from lsg_training.domain import sheets
from lsg_training.domain.places import municipality_of


@dataclass(frozen=True, slots=True)
class NewSession:
    id: str | None
    module_code: str
    held_on: date
    place: Place | None
    place_code: str | None
    trainers: list[str]
    language: str


async def schedule_session(uow: UnitOfWork, who: Principal, programme_id: str, new: NewSession) -> tuple[Any, bool]:
    """(session, created). The same session again is not created; a different one with its id conflicts."""
    async with uow.begin() as tx:
        conn = tx.conn
        await records.programme(conn, programme_id, lock=True)
        if await repo.get_module(conn, programme_id, new.module_code) is None:
            raise Invalid(
                f"The programme has no module {new.module_code!r}.",
                [{"field": "module_code", "message": "unknown module", "value": new.module_code}],
            )
        place = await resolve_place(conn, new.place, new.place_code)
        ensure_scope(who, place.country, municipality_of(place))
        data: dict[str, Any] = {
            "id": new.id or records.new_id(),
            "programme_id": programme_id,
            "module_code": new.module_code,
            "held_on": new.held_on,
            "place": place.model_dump(mode="json"),
            "trainers": [sheets.clean_text(t) for t in new.trainers],
            "language": new.language,
        }
        existing = await repo.get_session(conn, data["id"]) if new.id else None
        if existing is not None:
            same = all(existing[k] == data[k] for k in ("programme_id", "module_code", "held_on", "language"))
            if not same:
                raise Conflict(f"Session {new.id!r} exists with other details.", "id")
            return existing, False
        await repo.insert_session(conn, data)
        # A module with one more session is attended only by those present at that one too.
        await progress.recompute_programme(tx, programme_id)
        return await repo.get_session(conn, data["id"]), True


async def list_sessions(uow: UnitOfWork, programme_id: str) -> list[Any]:
    async with uow.read() as conn:
        await records.programme(conn, programme_id)
        return await repo.list_sessions(conn, programme_id)


async def get_session(uow: UnitOfWork, session_id: str) -> dict[str, Any]:
    """The session with the number of participants present."""
    async with uow.read() as conn:
        row = dict(await records.session(conn, session_id))
        row["attendees"] = await repo.count_present(conn, session_id)
        return row


async def close_session(uow: UnitOfWork, who: Principal, session_id: str) -> CloudEvent | None:
    """Tell ``training.session.held`` once, with the number present; None when it was told already."""
    async with uow.begin() as tx:
        session = await records.session(tx.conn, session_id, lock=True)
        ensure_scope(who, session["place"]["country"], municipality_of(session["place"]))
        if session["held_on"] > records.today():
            raise Conflict(
                f"Session {session_id} is on {session['held_on']}: it has not happened yet.",
                "held_on",
                "session-not-held",
            )
        if session["closed_at"] is not None:
            return None
        return await _tell_held(tx, session)


async def _tell_held(tx: Transaction, session: Any) -> CloudEvent:
    conn = tx.conn
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
    await repo.mark_session_closed(conn, session["id"])
    (event,) = await tx.emit(data, id=progress.event_id("session.held", session["id"]))
    return event
