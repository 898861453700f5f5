"""Contacts and on-call: the people an alert must reach, their place on the escalation ladder through rotas
(hand-over times, overrides for holiday cover), and erasure.

A contact's name, addresses and phone number are sealed with the service's Fernet key (the partner secrets'
``SecretBox``); only the language, the drill opt-in and the kinds of their channels are stored in clear. Events
name a contact by id only.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application.errors import Conflict, Invalid, NotFound
from lsg_alerts.application.lifecycle import now
from lsg_alerts.application.residency import NONE, Residency
from lsg_alerts.domain import notify as rules
from lsg_events.privacy import PersonErasureCompleted
from lsg_shared import audit, privacy
from lsg_shared.uow import Transaction, UnitOfWork

SERVICE = "alerts"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Person:
    """A contact's sealed part, opened."""

    name: str
    channels: list[dict[str, str]]  # [{"kind": "email", "address": ...}], in the order to try them
    phone: str | None = None


def seal(box: SecretBox, person: Person) -> bytes:
    return box.encrypt(json.dumps({"name": person.name, "channels": person.channels, "phone": person.phone}))


def unseal(box: SecretBox, sealed: bytes | None) -> Person | None:
    """The person, or None once erased (or when no configured key opens the data)."""
    if sealed is None:
        return None
    plain = box.decrypt(sealed)
    if plain is None:
        return None
    data = json.loads(plain)
    return Person(name=data["name"], channels=list(data["channels"]), phone=data.get("phone"))


async def register(
    uow: UnitOfWork,
    box: SecretBox,
    person: Person,
    language: str,
    drills: bool,
    country: str,
    municipality_code: str | None,
    residency: Residency = NONE,
) -> dict[str, Any]:
    """A new contact; with a personal database for ``country`` the sealed part goes there (residency)."""
    kinds = [c["kind"] for c in person.channels]
    contact_id = uuid.uuid4()
    sealed, residence = await residency.place(contact_id, country, seal(box, person))
    async with uow.begin() as tx:
        row = await db.insert_contact(
            tx.conn, contact_id, sealed, language, drills, kinds, country, municipality_code, residence
        )
    return await residency.fill_one(row)


async def get(uow: UnitOfWork, contact_id: UUID, residency: Residency = NONE) -> dict[str, Any]:
    async with uow.read() as conn:
        row = await db.get_contact(conn, contact_id)
    if row is None:
        raise NotFound("contact", contact_id)
    return await residency.fill_one(row)


async def all_contacts(uow: UnitOfWork, limit: int, offset: int, residency: Residency = NONE) -> list[dict[str, Any]]:
    async with uow.read() as conn:
        return await residency.fill(await db.list_contacts(conn, limit, offset))


async def erase(uow: UnitOfWork, contact_id: UUID, residency: Residency = NONE) -> asyncpg.Record:
    """Forget the person's data (kept: the id, so history and events stay consistent); they leave every rota and
    nothing pending is sent to them; the row in the country's personal database is deleted. Erasing twice is
    harmless. Recorded in ``contact_privacy_erasures`` (counts only)."""
    async with uow.begin() as tx:
        row = await db.get_contact(tx.conn, contact_id, lock=True)
        if row is None:
            raise NotFound("contact", contact_id)
        if row["erased_at"] is None:
            await db.erase_contact(tx.conn, contact_id, now())
            counts = {"contacts": 1, "personal_records": await residency.forget([row])}
            await db.record_privacy_erasure(tx.conn, f"api-{uuid.uuid4()}", "api", counts)
        fresh = await db.get_contact(tx.conn, contact_id)
        assert fresh is not None
        return fresh


def person_tokens(subject_key: str, person: Person, country: str) -> set[str]:
    """The subject tokens of everything identifying the person (each address, the phone, the name in its country)."""
    tokens = set(privacy.subject_tokens(subject_key, phone=person.phone, name=person.name, country=country))
    for channel in person.channels:
        if channel.get("kind") == "email":
            tokens.update(privacy.subject_tokens(subject_key, email=channel["address"]))
    return tokens


def _uuids(values: Sequence[str]) -> set[UUID]:
    ids: set[UUID] = set()
    for value in values:
        try:
            ids.add(UUID(value))
        except ValueError:
            continue
    return ids


async def find(
    conn: Any,
    box: SecretBox,
    residency: Residency,
    subject_key: str | None,
    tokens: Sequence[str],
    local_ids: Sequence[str],
    *,
    living: bool = True,
) -> list[dict[str, Any]]:
    """The contacts a request means: their id among ``local_ids``, or a subject token of theirs (each e-mail
    address, the phone, the name in the contact's country) among ``tokens``. Rows filled from the residency."""
    wanted = set(tokens) if subject_key else set()
    ids = _uuids(local_ids)
    rows = await db.living_contacts(conn) if living else await db.all_contacts_ever(conn)
    found = []
    for row in await residency.fill(rows):
        hit = row["contact_id"] in ids
        if not hit and subject_key and wanted:
            person = unseal(box, row["sealed"])
            hit = person is not None and bool(person_tokens(subject_key, person, row["country"]) & wanted)
        if hit:
            found.append(row)
    return found


async def erase_requested(
    tx: Transaction,
    box: SecretBox,
    subject_key: str | None,
    *,
    request_id: str,
    tokens: Sequence[str],
    local_ids: Sequence[str],
    residency: Residency = NONE,
    requested: str = "event",
    confirm: bool = True,
) -> int:
    """The privacy fan-out (``person.erasure_requested``): erase the contacts the request means — their id among
    ``local_ids``, or a subject token of theirs among ``tokens`` — delete their rows in the countries' personal
    databases, erase the audit identities of a ``login`` token, record the erasure (counts only, in
    ``contact_privacy_erasures``) and confirm with counts only."""
    at = now()
    rows = await find(tx.conn, box, residency, subject_key, tokens, local_ids)
    for row in rows:
        await db.erase_contact(tx.conn, row["contact_id"], at)
    erased: dict[str, int] = {"contacts": len(rows)}
    personal = await residency.forget(rows)
    if personal:
        erased["personal_records"] = personal
    if subject_key and tokens:
        audit_rows = await audit.erase_person(tx.conn, subject_key, set(tokens))
        if audit_rows:
            erased["audit_rows"] = audit_rows
    await db.record_privacy_erasure(tx.conn, request_id, requested, erased)
    if confirm:
        await tx.emit(PersonErasureCompleted(request_id=request_id, service=SERVICE, completed_at=at, erased=erased))
    log.info("privacy: erasure %s done (%s)", request_id, erased)  # counts only: never who
    return len(rows)


async def _check_members(conn: Any, members: Sequence[UUID], field: str) -> None:
    found = {r["contact_id"]: r for r in await db.contacts_by_id(conn, members)}
    errors = [
        {"field": f"{field}[{i}]", "message": "no such contact" if m not in found else "the contact was erased"}
        for i, m in enumerate(members)
        if m not in found or found[m]["erased_at"] is not None
    ]
    if errors:
        raise Invalid("Unknown contact", "; ".join(e["message"] for e in errors), errors)


async def create_rota(
    uow: UnitOfWork,
    level: str,
    area_code: str,
    country: str,
    municipality_code: str | None,
    starts_at: datetime,
    shift_s: int,
    members: Sequence[UUID],
) -> asyncpg.Record:
    async with uow.begin() as tx:
        await _check_members(tx.conn, members, "members")
        return await db.insert_rota(
            tx.conn, uuid.uuid4(), level, area_code, country, municipality_code, starts_at, shift_s, members
        )


async def get_rota(uow: UnitOfWork, rota_id: UUID) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    async with uow.read() as conn:
        row = await db.get_rota(conn, rota_id)
        if row is None:
            raise NotFound("rota", rota_id)
        return row, await db.overrides_of(conn, [rota_id])


async def all_rotas(uow: UnitOfWork, area_code: str | None, limit: int, offset: int) -> list[asyncpg.Record]:
    async with uow.read() as conn:
        return await db.list_rotas(conn, area_code, limit, offset)


async def add_override(
    uow: UnitOfWork, rota_id: UUID, contact_id: UUID, starts_at: datetime, ends_at: datetime
) -> asyncpg.Record:
    if ends_at <= starts_at:
        raise Conflict("an override must end after it starts", "ends_at")
    async with uow.begin() as tx:
        if await db.get_rota(tx.conn, rota_id) is None:
            raise NotFound("rota", rota_id)
        await _check_members(tx.conn, [contact_id], "contact_id")
        return await db.insert_override(tx.conn, uuid.uuid4(), rota_id, contact_id, starts_at, ends_at)


def _rule_rota(row: asyncpg.Record) -> rules.Rota:
    return rules.Rota(starts_at=row["starts_at"], shift_s=row["shift_s"], members=list(row["members"]))


def _rule_overrides(rows: Sequence[asyncpg.Record], rota_id: UUID) -> list[rules.Override]:
    return [
        rules.Override(contact_id=o["contact_id"], starts_at=o["starts_at"], ends_at=o["ends_at"])
        for o in rows
        if o["rota_id"] == rota_id
    ]


async def on_call_at(conn: Any, level: str, area_codes: Sequence[str], at: datetime) -> list[UUID]:
    """Who to reach for a ladder level, in order, at ``at``: the rota over the most specific area that has one
    (``area_codes`` from the most specific: settlement, territory, municipality, country); for one level and area
    the latest rota registered is the one in force (a new rota replaces the old)."""
    rotas = await db.rotas_for(conn, level, area_codes)
    if not rotas:
        return []
    rank = {code: i for i, code in enumerate(area_codes)}
    chosen = min(rotas, key=lambda r: (rank[r["area_code"]], -r["created_at"].timestamp()))
    overrides = await db.overrides_of(conn, [chosen["rota_id"]])
    return rules.on_call(_rule_rota(chosen), _rule_overrides(overrides, chosen["rota_id"]), at)


async def who_is_on_call(uow: UnitOfWork, level: str, area_codes: Sequence[str], at: datetime) -> list[UUID]:
    async with uow.read() as conn:
        return await on_call_at(conn, level, area_codes, at)
