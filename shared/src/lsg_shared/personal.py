"""Residency (issue 30): a service that holds personal data may keep each country's residents' personal fields in a
database of that country (``LSG_<SVC>_PERSONAL_DATABASE_URL_LV``, ``..._RU``), decided by the country at write
time, while the pseudonymous facts stay in the service's main database. Without a configured country everything
stays in the main database.

This is the part every such service shares:

- :class:`CountryDatabases`: a pool per configured country, opened at start-up with the service's one table
  (``schema``), and the SQL that does not depend on the table's columns (``delete``, ``settled_ids``); the service's
  subclass adds its writes and reads.
- :class:`Residency`: where a record's personal fields are (``holds``, ``where`` for the access export), the reads
  that bring them back into rows (``fill``), their deletion with an erasure (``forget_rows``) and the sweep of
  rows no record points at any more (``orphans``). The service's subclass says how its rows are keyed
  (``key_field``), how the personal part goes back into a row (``merge``), which main-database records are
  residents (``resident_ids``), and how a new record is placed.
- :class:`ResidencyUnitOfWork` and :func:`residency_in`: use cases reach the residency through their unit of work
  (set by the composition root); a plain ``UnitOfWork`` means no residency (component tests, tools).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import asyncpg

from lsg_shared import db
from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork

COUNTRIES = ("LV", "RU")


def where(url: str) -> str:
    """Host and database of a URL, without user or password (what the access export says)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}{':' + str(parts.port) if parts.port else ''}/{db.database_name(url)}"


class CountryDatabases:
    """A pool per configured country; nothing connects until :meth:`start`. Subclasses set ``schema`` (the one
    table's DDL), ``table`` and ``key_column`` (its primary key: the record's id in the main database); the table
    has an ``updated_at`` column."""

    schema: str = ""
    table: str = ""
    key_column: str = ""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = {country: url for country, url in urls.items() if url}
        self._pools: dict[str, asyncpg.Pool] = {}

    def holds(self, country: str) -> bool:
        return country in self.urls

    def where(self, country: str) -> str:
        return where(self.urls[country])

    async def start(self) -> None:
        for country, url in self.urls.items():
            await db.ensure_database(url)
            pool = await db.create_pool(url, min_size=1, max_size=4)
            async with pool.acquire() as conn:
                await conn.execute(self.schema)
            self._pools[country] = pool

    async def stop(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()

    def _pool(self, country: str) -> asyncpg.Pool:
        if country not in self._pools:
            raise RuntimeError(f"the personal database of {country} is not open")
        return self._pools[country]

    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int:
        """Delete the rows of these records; how many there were."""
        if not ids:
            return 0
        async with self._pool(country).acquire() as conn:
            status = await conn.execute(
                f"DELETE FROM {self.table} WHERE {self.key_column} = ANY($1::uuid[])", list(ids)
            )
        return int(status.split()[-1])

    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]:
        """Ids of rows written more than `older_than_s` seconds ago (a write in flight is younger)."""
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {self.key_column} AS id FROM {self.table} "
                "WHERE updated_at < now() - make_interval(secs => $1)",
                older_than_s,
            )
        return [r["id"] for r in rows]


class PersonalStore(Protocol):
    """What a residency needs of the countries' personal databases (a service's ``CountryDatabases``)."""

    def holds(self, country: str) -> bool: ...
    def where(self, country: str) -> str: ...
    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Any]: ...
    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int: ...
    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]: ...


StoreT = TypeVar("StoreT", bound=PersonalStore)


class Residency(Generic[StoreT]):
    """Where each record's personal fields are, and the reads that bring them back. Rows carry ``residence`` (the
    country whose database holds the personal part, or none) and their id under ``key_field``."""

    key_field: ClassVar[str] = "id"
    fields: ClassVar[tuple[str, ...]] = ()  # the personal fields a row gets back (the default `merge`)

    def __init__(self, store: StoreT | None, main_where: str = "main") -> None:
        self.store = store
        self.main_where = main_where

    def holds(self, country: str | None) -> bool:
        return self.store is not None and country is not None and self.store.holds(country)

    def where(self, residence: str | None) -> dict[str, str]:
        """Where a record's personal fields are stored (for the access export)."""
        if residence and self.store is not None and self.store.holds(residence):
            return {"database": self.store.where(residence), "country": residence, "kind": "personal_database"}
        return {"database": self.main_where, "country": "-", "kind": "main_database"}

    # ---- what the service's subclass says ----------------------------------------------------------------
    def needs(self, row: Mapping[str, Any]) -> bool:
        """Whether the row's personal part is to be read from a country's database."""
        return bool(row.get("residence"))

    def merge(self, row: dict[str, Any], personal: Any) -> None:
        """Put the personal part read back from the country's database into the row (by default `fields` of the
        mapping read back)."""
        row.update({f: personal[f] for f in self.fields})

    async def resident_ids(self, conn: Conn, country: str, ids: list[uuid.UUID]) -> Iterable[uuid.UUID]:
        """Which of `ids` the main database still has as residents of `country` (living records)."""
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------------------
    async def fill(self, rows: Iterable[Any]) -> list[dict[str, Any]]:
        """Rows as dicts, with the personal part of residents of a personal database read back from it."""
        out = [dict(r) for r in rows]
        wanted: dict[str, list[uuid.UUID]] = {}
        for r in out:
            if self.needs(r):
                wanted.setdefault(r["residence"], []).append(r[self.key_field])
        if not wanted or self.store is None:
            return out
        found: dict[uuid.UUID, Any] = {}
        for country, ids in wanted.items():
            if self.store.holds(country):
                found.update(await self.store.get_many(country, ids))
        for r in out:
            personal = found.get(r[self.key_field])
            if personal is not None:
                self.merge(r, personal)
        return out

    async def fill_one(self, row: Any) -> dict[str, Any] | None:
        return None if row is None else (await self.fill([row]))[0]

    async def forget_ids(self, country: str | None, ids: Sequence[uuid.UUID]) -> int:
        """Delete the personal rows of these records of `country` (erased); how many."""
        if not self.holds(country) or not ids:
            return 0
        assert self.store is not None
        assert country is not None
        return await self.store.delete(country, ids)

    async def forget_rows(self, rows: Iterable[Any]) -> int:
        """Delete the personal rows of erased records (rows with ``residence`` and their id); how many."""
        wanted: dict[str, list[uuid.UUID]] = {}
        for r in rows:
            if r["residence"] and self.holds(r["residence"]):
                wanted.setdefault(r["residence"], []).append(r[self.key_field])
        return sum([await self.forget_ids(country, ids) for country, ids in wanted.items()])

    async def orphans(self, conn: Conn, older_than_s: float = 3600) -> int:
        """Delete rows of the countries' databases that no living record of the main database points at (a write
        whose main transaction failed after its personal part was placed). Returns how many."""
        if self.store is None:
            return 0
        removed = 0
        for country in COUNTRIES:
            if not self.store.holds(country):
                continue
            ids = await self.store.settled_ids(country, older_than_s)
            kept = set(await self.resident_ids(conn, country, ids))
            removed += await self.store.delete(country, [i for i in ids if i not in kept])
        return removed


ResidencyT = TypeVar("ResidencyT", bound=Residency[Any])


class ResidencyUnitOfWork(UnitOfWork):
    """The unit of work that carries the service's residency (set by the composition root)."""

    __slots__ = ("residency",)

    def __init__(self, pool: asyncpg.Pool, source: str, residency: Residency[Any]) -> None:
        super().__init__(pool, source)
        self.residency = residency


def residency_in(where: UnitOfWork | Transaction, none: ResidencyT) -> ResidencyT:
    """The residency of a unit of work (or of the one a transaction was opened on); `none` when it has none."""
    uow = where._uow if isinstance(where, Transaction) else where
    found = uow.residency if isinstance(uow, ResidencyUnitOfWork) else None
    return found if isinstance(found, type(none)) else none


__all__ = [
    "COUNTRIES",
    "CountryDatabases",
    "PersonalStore",
    "Residency",
    "ResidencyUnitOfWork",
    "residency_in",
    "where",
]
