"""Participants (their names and contacts stay in this service) and their enrolment in programmes."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from lsg_events.geography import Place
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.db import Conn
from lsg_shared.uow import UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application import progress, records
from lsg_training.application.errors import Conflict, Invalid
from lsg_training.application.places import resolve_place
from lsg_training.application.residency import Residency, residency_of, residency_of_nothing
from lsg_training.domain import sheets
from lsg_training.domain.participants import ParticipantDetails, identity_of
from lsg_training.domain.places import municipality_of
from lsg_training.domain.privacy import PERSONAL_FIELDS
from lsg_training.domain.rules import pseudonym


async def register(
    conn: Conn, key: bytes, details: ParticipantDetails, place: Place, residency: Residency | None = None
) -> tuple[Any, bool]:
    """(row, created). A repeat of the same registration returns the existing participant. The personal fields
    go where the participant's country says (``residency``)."""
    residency = residency or residency_of_nothing()
    name = sheets.clean_text(details.full_name)
    identity = identity_of(details.ref, name, details.country, details.email, details.phone)
    data: dict[str, Any] = {
        "ref": details.ref,
        "identity": identity,
        "full_name": name,
        "email": details.email,
        "phone": details.phone,
        "role": str(details.role),
        "country": details.country,
        "place": place.model_dump(mode="json"),
        "gender": details.gender,
        "organisation": sheets.clean_text(details.organisation) if details.organisation else None,
    }
    existing = await residency.fill_one(
        await repo.participants_by_sealed(conn, "identity", residency.lookups("identity", identity))
    )
    if existing is not None:
        differs = [
            k
            for k in ("full_name", "role", "country", "gender", "organisation", "email", "phone")
            if existing[k] != data[k]
        ]
        if differs:
            raise Conflict(
                f"Participant {details.ref or name!r} is registered with other {', '.join(differs)}; "
                f"use PATCH /v1/participants/{existing['id']} to correct details.",
                differs[0],
                "participant-exists",
            )
        return existing, False
    pid = uuid.uuid4()
    data.update(id=pid, key=pseudonym(key, str(pid)))
    stored = await residency.place(details.country, pid, data)
    row = await repo.insert_participant(conn, stored)
    if row["id"] != pid:  # a concurrent registration of the same person won: drop our copy
        await residency.forget(details.country, [pid])
    return await residency.fill_one(row), row["id"] == pid


async def register_participant(
    uow: UnitOfWork,
    who: Principal,
    key: bytes,
    details: ParticipantDetails,
    place: Place | None,
    place_code: str | None,
    programme_id: str | None,
) -> tuple[Any, bool]:
    """(row, created): register (or find again) a participant, and enrol them in a programme if one is given."""
    async with uow.begin() as tx:
        conn = tx.conn
        if programme_id:
            await records.programme(conn, programme_id, field="query:programme_id")
        where = await resolve_place(conn, place, place_code, country=details.country)
        ensure_scope(who, details.country, municipality_of(where))
        row, created = await register(conn, key, details, where, residency_of(uow))
        if programme_id:
            await repo.enrol(conn, programme_id, [row["id"]])
            await progress.recompute(tx, programme_id, row["id"])
    return row, created


async def list_participants(
    uow: UnitOfWork, who: Principal, *, programme_id: str | None, country: str | None, limit: int, offset: int
) -> list[Any]:
    async with uow.read() as conn:
        rows = await repo.list_participants(
            conn, programme_id=programme_id, country=country, limit=limit, offset=offset
        )
    visible = [r for r in rows if who.may_act_in(r["country"], municipality_of(r["place"]))]
    return await residency_of(uow).fill(visible)


async def get_participant(uow: UnitOfWork, who: Principal, participant_id: uuid.UUID) -> Any:
    async with uow.read() as conn:
        row = await records.participant(conn, participant_id)
    ensure_scope(who, row["country"], municipality_of(row["place"]))
    return await residency_of(uow).fill_one(row)


async def correct_participant(
    uow: UnitOfWork, who: Principal, participant_id: uuid.UUID, changes: dict[str, Any]
) -> Any:
    """Corrections apply to events told from now on; events already told are not rewritten."""
    if not changes:
        raise Invalid("Nothing to change.", [{"field": "body", "message": "no field given"}])
    for k, v in list(changes.items()):
        if v is None and k in ("full_name", "role", "gender"):
            raise Invalid(f"{k} cannot be null.", [{"field": k, "message": "required"}])
        if isinstance(v, str) and k in ("full_name", "organisation"):
            changes[k] = sheets.clean_text(v)
        if k == "role" and v is not None:
            changes[k] = str(v)
    residency = residency_of(uow)
    async with uow.begin() as tx:
        conn = tx.conn
        row = await residency.fill_one(await records.participant(conn, participant_id))
        assert row is not None
        ensure_scope(who, row["country"], municipality_of(row["place"]))
        if row["ref"] is None and ({"full_name", "email", "phone"} & set(changes)):
            merged = {**row, **changes}
            changes["identity"] = identity_of(
                None, merged["full_name"], row["country"], merged["email"], merged["phone"]
            )
        if row.get("residence") and set(PERSONAL_FIELDS) & set(changes):
            if "identity" in changes and await repo.participants_by_sealed(
                conn,
                "identity",
                [i for i in residency.lookups("identity", changes["identity"]) if i != row["identity"]],
            ):
                raise Conflict("Another participant has the same name and contact.", "full_name")
            personal = {
                **{f: row[f] for f in PERSONAL_FIELDS},
                **{f: changes[f] for f in PERSONAL_FIELDS if f in changes},
            }
            stored = await residency.place(row["residence"], participant_id, personal)
            changes = {k: v for k, v in changes.items() if k not in PERSONAL_FIELDS}
            changes.update({f: stored[f] for f in PERSONAL_FIELDS})
        try:
            async with conn.transaction():
                updated = await repo.update_participant(conn, participant_id, changes)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("Another participant has the same name and contact.", "full_name") from exc
    return await residency.fill_one(updated)


def unknown_participants(ids: list[uuid.UUID], found: dict[uuid.UUID, Any]) -> list[dict[str, Any]]:
    return [
        {"field": f"participant_ids.{i}", "message": "unknown participant", "value": str(p)}
        for i, p in enumerate(ids)
        if p not in found
    ]


async def enrol(uow: UnitOfWork, who: Principal, programme_id: str, ids: list[uuid.UUID]) -> tuple[int, int, int]:
    """(enrolled, already enrolled, events told). All or nothing: one unknown participant enrols nobody."""
    async with uow.begin() as tx:
        conn = tx.conn
        await records.programme(conn, programme_id)
        found = await repo.participants_by_ids(conn, ids)
        missing = unknown_participants(ids, found)
        if missing:
            raise Invalid(
                f"{len(missing)} unknown participant(s); nothing was enrolled.", missing, "unknown-participant"
            )
        for p in found.values():
            ensure_scope(who, p["country"], municipality_of(p["place"]))
        added = await repo.enrol(conn, programme_id, list(found))
        events = await progress.recompute_many(tx, programme_id, found)
    return added, len(found) - added, len(events)


async def enrolled(uow: UnitOfWork, who: Principal, programme_id: str) -> list[tuple[Any, list[str]]]:
    """Each enrolled participant the caller may see, with the modules they attended."""
    async with uow.read() as conn:
        await records.programme(conn, programme_id)
        rows = await residency_of(uow).fill(await repo.enrolled_participants(conn, programme_id))
        status = await repo.programme_module_status(conn, programme_id)
    attended: dict[uuid.UUID, list[str]] = {}
    for s in status:
        if s["attended"]:
            attended.setdefault(s["participant_id"], []).append(s["module_code"])
    return [
        (r, sorted(attended.get(r["id"], [])))
        for r in rows
        if who.may_act_in(r["country"], municipality_of(r["place"]))
    ]
