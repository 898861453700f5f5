"""Residency: a contact's personal part (name, e-mail addresses, webhook URLs, phone — sealed as ever) lives in
their country's personal database when one is configured for that country, decided by the contact's country at
write time; the main database keeps the id, language, channel kinds, drill opt-in, country and rota membership,
with ``residence`` naming the country whose database holds the rest. Without a configured country everything
stays in the main database, as before; contacts registered before the setting was turned on stay where they are.

The same shape as surveys' ``application/residency.py`` (and training's): the three services repeat it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from lsg_alerts.adapters import postgres as db
from lsg_shared.db import Conn

COUNTRIES = ("LV", "RU")


class PersonalStore(Protocol):
    """What the residency needs of the countries' personal databases (``adapters.personal``)."""

    def holds(self, country: str) -> bool: ...
    def where(self, country: str) -> str: ...
    async def put(self, country: str, contact_id: uuid.UUID, sealed: bytes) -> None: ...
    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]: ...
    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int: ...
    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]: ...


class Residency:
    """Where each contact's sealed personal part goes, and the reads that bring it back."""

    def __init__(self, store: PersonalStore | None = None, main_where: str = "main") -> None:
        self.store = store
        self.main_where = main_where

    def holds(self, country: str | None) -> bool:
        return self.store is not None and country is not None and self.store.holds(country)

    def where(self, residence: str | None) -> dict[str, str]:
        """Where a contact's personal part is stored (for the access export)."""
        if residence and self.store is not None and self.store.holds(residence):
            return {"database": self.store.where(residence), "country": residence, "kind": "personal_database"}
        return {"database": self.main_where, "country": "-", "kind": "main_database"}

    async def place(self, contact_id: uuid.UUID, country: str, sealed: bytes) -> tuple[bytes | None, str | None]:
        """A new contact: a resident of a configured country has the sealed part written to its database (before
        the main transaction commits). Returns what the main database stores: (sealed, residence)."""
        if not self.holds(country):
            return sealed, None
        assert self.store is not None
        await self.store.put(country, contact_id, sealed)
        return None, country

    async def fill(self, rows: Iterable[Any]) -> list[dict[str, Any]]:
        """Rows as dicts, with ``sealed`` read back from the country's database for its residents."""
        out = [dict(r) for r in rows]
        wanted: dict[str, list[uuid.UUID]] = {}
        for r in out:
            if r.get("residence") and r.get("erased_at") is None:
                wanted.setdefault(r["residence"], []).append(r["contact_id"])
        if not wanted or self.store is None:
            return out
        found: dict[uuid.UUID, bytes] = {}
        for country, ids in wanted.items():
            if self.store.holds(country):
                found.update(await self.store.get_many(country, ids))
        for r in out:
            if r["contact_id"] in found:
                r["sealed"] = found[r["contact_id"]]
        return out

    async def fill_one(self, row: Any) -> dict[str, Any]:
        [filled] = await self.fill([row])
        return filled

    async def forget(self, rows: Iterable[Any]) -> int:
        """Delete the personal rows of erased contacts (rows with ``contact_id`` and ``residence``)."""
        if self.store is None:
            return 0
        wanted: dict[str, list[uuid.UUID]] = {}
        for r in rows:
            if r["residence"] and self.holds(r["residence"]):
                wanted.setdefault(r["residence"], []).append(r["contact_id"])
        return sum([await self.store.delete(country, ids) for country, ids in wanted.items()])

    async def orphans(self, conn: Conn, older_than_s: float = 3600) -> int:
        """Delete rows of the countries' databases no living contact points at (a registration whose main
        transaction failed after its personal part was placed). Returns how many."""
        if self.store is None:
            return 0
        removed = 0
        for country in COUNTRIES:
            if not self.store.holds(country):
                continue
            ids = await self.store.settled_ids(country, older_than_s)
            kept = await db.resident_contact_ids(conn, country, ids)
            removed += await self.store.delete(country, [i for i in ids if i not in kept])
        return removed


NONE = Residency(None)
