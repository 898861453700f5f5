"""Residency: a respondent's personal fields (name, phone, external reference, free-text answers) live in their
country's personal database when one is configured for that country, decided by the response's settlement country
at write time; the pseudonymous facts (key, place, age band, gender, closed answers) stay in the main database.
Without a configured country everything stays in the main database, as before.

Use cases reach the residency through their unit of work (:class:`SurveysUnitOfWork`, set by the composition
root); a plain ``UnitOfWork`` means no residency (component tests, tools).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import asyncpg

from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.domain.responses import PreparedResponse

PERSONAL_FIELDS = ("respondent_name", "respondent_phone", "respondent_ref", "free_text")


class PersonalStore(Protocol):
    """What the residency needs of the countries' personal databases (``adapters.personal``)."""

    def holds(self, country: str) -> bool: ...
    def where(self, country: str) -> str: ...
    async def put_many(self, country: str, rows: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]) -> None: ...
    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]: ...
    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int: ...
    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]: ...


def personal_fields(r: PreparedResponse) -> dict[str, Any]:
    return {
        "respondent_name": r.name,
        "respondent_phone": r.phone,
        "respondent_ref": r.ref,
        "free_text": r.free_text or None,
    }


def _blanked(r: PreparedResponse, country: str) -> PreparedResponse:
    return dataclasses.replace(r, name=None, phone=None, ref=None, free_text={}, residence=country)


class Residency:
    """Where each response's personal fields go, and the reads that bring them back."""

    def __init__(self, store: PersonalStore | None, main_where: str = "main") -> None:
        self.store = store
        self.main_where = main_where

    def holds(self, country: str | None) -> bool:
        return self.store is not None and country is not None and self.store.holds(country)

    def where(self, residence: str | None) -> dict[str, str]:
        """Where a response's personal fields are stored (for the access export)."""
        if residence and self.store is not None and self.store.holds(residence):
            return {"database": self.store.where(residence), "country": residence, "kind": "personal_database"}
        return {"database": self.main_where, "country": "-", "kind": "main_database"}

    async def place(
        self, rows: Sequence[tuple[uuid.UUID, PreparedResponse]]
    ) -> list[tuple[uuid.UUID, PreparedResponse]]:
        """New responses: the personal fields of residents of a configured country go to its database (before
        the main transaction commits); returns what the main database stores."""
        if self.store is None:
            return list(rows)
        out: list[tuple[uuid.UUID, PreparedResponse]] = []
        by_country: dict[str, list[tuple[uuid.UUID, Mapping[str, Any]]]] = {}
        for rid, r in rows:
            country = r.place.country
            if self.holds(country):
                by_country.setdefault(country, []).append((rid, personal_fields(r)))
                out.append((rid, _blanked(r, country)))
            else:
                out.append((rid, r))
        for where_to, items in by_country.items():
            await self.store.put_many(where_to, items)
        return out

    async def place_edit(self, conn: Conn, response_id: uuid.UUID, r: PreparedResponse) -> PreparedResponse:
        """An edit of a stored response: its personal fields go where the response's already are (a response
        stored before residency was configured stays in the main database; an erased one gets none back)."""
        residence, erased = await repo.residence_of(conn, response_id)
        if erased or not residence or not self.holds(residence):
            return r
        assert self.store is not None
        await self.store.put_many(residence, [(response_id, personal_fields(r))])
        return _blanked(r, residence)

    async def forget(self, rows: Iterable[Any]) -> int:
        """Delete the personal rows of erased responses (rows with ``response_id`` and ``residence``)."""
        if self.store is None:
            return 0
        wanted: dict[str, list[uuid.UUID]] = {}
        for r in rows:
            if r["residence"] and self.holds(r["residence"]):
                wanted.setdefault(r["residence"], []).append(r["response_id"])
        return sum([await self.store.delete(country, ids) for country, ids in wanted.items()])

    async def orphans(self, conn: Conn, older_than_s: float = 3600) -> int:
        """Delete rows of the countries' databases that no living response points at (a write whose main
        transaction failed after its personal fields were placed). Returns how many."""
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
                wanted.setdefault(r["residence"], []).append(r["response_id"])
        if not wanted or self.store is None:
            return out
        found: dict[uuid.UUID, dict[str, Any]] = {}
        for country, ids in wanted.items():
            if self.store.holds(country):
                found.update(await self.store.get_many(country, ids))
        for r in out:
            personal = found.get(r["response_id"])
            if personal is not None:
                r.update({f: personal[f] for f in PERSONAL_FIELDS})
        return out


class SurveysUnitOfWork(UnitOfWork):
    """The unit of work with the service's residency."""

    __slots__ = ("residency",)

    def __init__(self, pool: asyncpg.Pool, source: str, residency: Residency) -> None:
        super().__init__(pool, source)
        self.residency = residency


_NONE = Residency(None)


def residency_of(where: UnitOfWork | Transaction) -> Residency:
    """The residency of a unit of work (or of the unit of work a transaction was opened on)."""
    uow = where._uow if isinstance(where, Transaction) else where
    return uow.residency if isinstance(uow, SurveysUnitOfWork) else _NONE
