"""Residency: a participant's personal fields live in their country's personal database when one is configured
for that country, decided by the participant's country at write time; the pseudonymous facts stay in the main
database. Without a configured country everything stays in the main database, as before.

The pools, reads back, deletion and orphan sweep are the shared ``lsg_shared.personal.Residency``; what is
training's own: the fields that move, the keyed hashes left in the main database for lookups, and placing a new
registration. Use cases reach the residency through their unit of work (:class:`TrainingUnitOfWork`); a plain
``UnitOfWork`` means no residency (component tests, tools).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from lsg_shared import personal
from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.domain.privacy import PERSONAL_FIELDS, SEALED_FIELDS, sealed


class PersonalStore(personal.PersonalStore, Protocol):
    """What the residency needs of the countries' personal databases (``adapters.personal``)."""

    async def put(self, country: str, participant_id: uuid.UUID, fields: Mapping[str, Any]) -> None: ...


class Residency(personal.Residency[PersonalStore]):
    """Where each participant's personal fields go, and the reads that bring them back."""

    key_field = "id"
    fields = PERSONAL_FIELDS

    def __init__(self, store: PersonalStore | None, key: bytes, main_where: str = "main") -> None:
        super().__init__(store, main_where)
        self.key = key

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
        return await self.forget_ids(country, ids)

    async def resident_ids(self, conn: Conn, country: str, ids: list[uuid.UUID]) -> Iterable[uuid.UUID]:
        return await repo.resident_ids(conn, country, ids)


class TrainingUnitOfWork(personal.ResidencyUnitOfWork):
    """The unit of work with the service's residency."""

    __slots__ = ()


_NONE = Residency(None, b"no-residency")


def residency_of_nothing() -> Residency:
    """No residency: everything in the main database."""
    return _NONE


def residency_of(where: UnitOfWork | Transaction) -> Residency:
    """The residency of a unit of work (or of the unit of work a transaction was opened on)."""
    return personal.residency_in(where, _NONE)
