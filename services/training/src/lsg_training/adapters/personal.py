"""The countries' personal databases (residency): every SQL statement on ``participant_personal``.

One database per configured country (``LSG_TRAINING_PERSONAL_DATABASE_URL_LV``, ``..._RU``) holds the personal
fields of that country's participants, keyed by the participant's id in the service's main database. The table is
created at start-up (it is the only one there). Nothing else of the service is stored in these databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from lsg_shared import db

SCHEMA = """
CREATE TABLE IF NOT EXISTS participant_personal (
    id           uuid        PRIMARY KEY,      -- participants.id in the training service's main database
    ref          text        UNIQUE,
    identity     text        NOT NULL UNIQUE,
    full_name    text        NOT NULL,
    email        text,
    phone        text,
    organisation text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
)
"""
COLUMNS = ("ref", "identity", "full_name", "email", "phone", "organisation")


def where(url: str) -> str:
    """Host and database of a URL, without user or password (what the access export says)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}{':' + str(parts.port) if parts.port else ''}/{db.database_name(url)}"


class PersonalDatabases:
    """A pool per configured country; nothing connects until :meth:`start`."""

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
                await conn.execute(SCHEMA)
            self._pools[country] = pool

    async def stop(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()

    def _pool(self, country: str) -> asyncpg.Pool:
        if country not in self._pools:
            raise RuntimeError(f"the personal database of {country} is not open")
        return self._pools[country]

    async def put(self, country: str, participant_id: uuid.UUID, fields: Mapping[str, Any]) -> None:
        """Insert or replace the person's fields (all of ``COLUMNS``)."""
        async with self._pool(country).acquire() as conn:
            await conn.execute(
                """
                INSERT INTO participant_personal (id, ref, identity, full_name, email, phone, organisation)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET ref = EXCLUDED.ref, identity = EXCLUDED.identity,
                    full_name = EXCLUDED.full_name, email = EXCLUDED.email, phone = EXCLUDED.phone,
                    organisation = EXCLUDED.organisation, updated_at = now()
                """,
                participant_id,
                *(fields.get(c) for c in COLUMNS),
            )

    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        if not ids:
            return {}
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch("SELECT * FROM participant_personal WHERE id = ANY($1::uuid[])", list(ids))
        return {r["id"]: dict(r) for r in rows}

    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int:
        if not ids:
            return 0
        async with self._pool(country).acquire() as conn:
            status = await conn.execute("DELETE FROM participant_personal WHERE id = ANY($1::uuid[])", list(ids))
        return int(status.split()[-1])

    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]:
        """Ids of rows written more than `older_than_s` seconds ago (a registration in flight is younger)."""
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch(
                "SELECT id FROM participant_personal WHERE updated_at < now() - make_interval(secs => $1)",
                older_than_s,
            )
        return [r["id"] for r in rows]
