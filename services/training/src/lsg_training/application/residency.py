"""Residency: a participant's personal fields live in their country's personal database when one is configured
for that country, decided by the participant's country at write time; the pseudonymous facts stay in the main
database. Without a configured country everything stays in the main database, as before.

Use cases reach the residency through their unit of work (:class:`TrainingUnitOfWork`, set by the composition
root); a plain ``UnitOfWork`` means no residency (component tests, tools).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import asyncpg

from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.domain.privacy import PERSONAL_FIELDS, SEALED_FIELDS, sealed


class PersonalStore(Protocol):
    """What the residency needs of the countries' personal databases (``adapters.personal``)."""

    def holds(self, country: str) -> bool: ...
    def where(self, country: str) -> str: ...
    async def put(self, country: str, participant_id: uuid.UUID, fields: Mapping[str, Any]) -> None: ...
    async def get_many(self, country: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]: ...
    async def delete(self, country: str, ids: list[uuid.UUID]) -> int: ...
    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]: ...


class Residency:
    """Where each participant's personal fields go, and the reads that bring them back."""

    def __init__(self, store: PersonalStore | None, key: bytes, main_where: str = "main") -> None:
        self.store = store
        self.key = key
        self.main_where = main_where

    def holds(self, country: str | None) -> bool:
        return self.store is not None and country is not None and self.store.holds(country)

    def where(self, residence: str | None) -> dict[str, str]:
        """Where a participant's personal fields are stored (for the access export)."""
        if residence and self.store is not None and self.store.holds(residence):
            return {"database": self.store.where(residence), "country": residence, "kind": "personal_database"}
        return {"database": self.main_where, "country": "-", "kind": "main_database"}

    def lookups(self, field: str, value: str) -> list[str]:
        """The forms a `ref` or `identity` may be stored in (plain; keyed hash under residency)."""
        return [value, sealed(self.key, field, value)]

    async def place(self, country: str, participant_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
        """Store the personal fields of `data` where the country says; returns the main database's values."""
        if not self.holds(country):
            return {**data, "residence": None}
        assert self.store is not None
        await self.store.put(country, participant_id, {f: data.get(f) for f in PERSONAL_FIELDS})
        main = {**data, "residence": country, "full_name": "", "email": None, "phone": None, "organisation": None}
        for name in SEALED_FIELDS:
            if data.get(name):
                main[name] = sealed(self.key, name, data[name])
        return main

    async def forget(self, country: str | None, ids: list[uuid.UUID]) -> int:
        if not self.holds(country) or not ids:
            return 0
        assert self.store is not None
        assert country is not None
        return await self.store.delete(country, ids)

    async def orphans(self, conn: Conn, older_than_s: float = 3600) -> int:
        """Delete rows of the countries' databases that no participant of the main database points at (a
        registration whose main transaction failed after its personal fields were placed). Returns how many."""
        if self.store is None:
            return 0
        removed = 0
        for country in ("LV", "RU"):
            if not self.store.holds(country):
                continue
            ids = await self.store.settled_ids(country, older_than_s)
            kept = await repo.resident_ids(conn, country, ids)
            removed += await self.store.delete(country, [i for i in ids if i not in kept])
        return removed

    async def fill(self, rows: Iterable[Any]) -> list[dict[str, Any]]:
        """Rows as dicts, with the personal fields of residents of a personal database read back from it."""
        out = [dict(r) for r in rows]
        wanted: dict[str, list[uuid.UUID]] = {}
        for r in out:
            if r.get("residence"):
                wanted.setdefault(r["residence"], []).append(r["id"])
        if not wanted or self.store is None:
            return out
        found: dict[uuid.UUID, dict[str, Any]] = {}
        for country, ids in wanted.items():
            if self.store.holds(country):
                found.update(await self.store.get_many(country, ids))
        for r in out:
            personal = found.get(r["id"])
            if personal is not None:
                r.update({f: personal[f] for f in PERSONAL_FIELDS})
        return out

    async def fill_one(self, row: Any) -> dict[str, Any] | None:
        return None if row is None else (await self.fill([row]))[0]


class TrainingUnitOfWork(UnitOfWork):
    """The unit of work with the service's residency."""

    __slots__ = ("residency",)

    def __init__(self, pool: asyncpg.Pool, source: str, residency: Residency) -> None:
        super().__init__(pool, source)
        self.residency = residency


_NONE = Residency(None, b"no-residency")


def residency_of_nothing() -> Residency:
    """No residency: everything in the main database."""
    return _NONE


def residency_of(where: UnitOfWork | Transaction) -> Residency:
    """The residency of a unit of work (or of the unit of work a transaction was opened on)."""
    uow = where._uow if isinstance(where, Transaction) else where
    return uow.residency if isinstance(uow, TrainingUnitOfWork) else _NONE
