"""Residency: a contact's personal part (name, e-mail addresses, webhook URLs, phone — sealed as ever) lives in
their country's personal database when one is configured for that country, decided by the contact's country at
write time; the main database keeps the id, language, channel kinds, drill opt-in, country and rota membership,
with ``residence`` naming the country whose database holds the rest. Without a configured country everything
stays in the main database, as before; contacts registered before the setting was turned on stay where they are.

The reads back, deletion and orphan sweep are the shared ``lsg_shared.personal.Residency`` (training and surveys
use it too); what is alerts' own: the sealed part that moves and placing a new contact.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from lsg_alerts.adapters import postgres as db
from lsg_shared import personal
from lsg_shared.db import Conn


class PersonalStore(personal.PersonalStore, Protocol):
    """What the residency needs of the countries' personal databases (``adapters.personal``)."""

    async def put(self, country: str, contact_id: uuid.UUID, sealed: bytes) -> None: ...
    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]: ...


class Residency(personal.Residency[PersonalStore]):
    """Where each contact's sealed personal part goes, and the reads that bring it back."""

    key_field = "contact_id"

    def __init__(self, store: PersonalStore | None = None, main_where: str = "main") -> None:
        super().__init__(store, main_where)

    async def place(self, contact_id: uuid.UUID, country: str, sealed: bytes) -> tuple[bytes | None, str | None]:
        """A new contact: a resident of a configured country has the sealed part written to its database (before
        the main transaction commits). Returns what the main database stores: (sealed, residence)."""
        if not self.holds(country):
            return sealed, None
        assert self.store is not None
        await self.store.put(country, contact_id, sealed)
        return None, country

    def needs(self, row: Mapping[str, Any]) -> bool:
        return bool(row.get("residence")) and row.get("erased_at") is None

    def merge(self, row: dict[str, Any], found: Any) -> None:
        row["sealed"] = found

    async def fill_one(self, row: Any) -> dict[str, Any]:
        [filled] = await self.fill([row])
        return filled

    async def forget(self, rows: Iterable[Any]) -> int:
        """Delete the personal rows of erased contacts (rows with ``contact_id`` and ``residence``)."""
        return await self.forget_rows(rows)

    async def resident_ids(self, conn: Conn, country: str, ids: list[uuid.UUID]) -> Iterable[uuid.UUID]:
        return await db.resident_contact_ids(conn, country, ids)


NONE = Residency(None)
