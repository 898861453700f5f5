"""The countries' personal databases (residency): every SQL statement on ``contact_personal``.

One database per configured country (``LSG_ALERTS_PERSONAL_DATABASE_URL_LV``, ``..._RU``) holds the sealed personal
part of that country's contacts (name, e-mail addresses, webhook URLs and secrets, phone: the same Fernet-sealed
blob the main database holds otherwise), keyed by the contact's id in the service's main database. The table is
created at start-up (it is the only one there). The same shape as surveys' and training's ``adapters/personal.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import asyncpg

from lsg_shared import db

SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_personal (
    contact_id  uuid        PRIMARY KEY,   -- contacts.contact_id in the alerts main database
    sealed      bytea       NOT NULL,      -- Fernet: name, channels (addresses), phone
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
)
"""


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

    async def put(self, country: str, contact_id: uuid.UUID, sealed: bytes) -> None:
        async with self._pool(country).acquire() as conn:
            await conn.execute(
                "INSERT INTO contact_personal (contact_id, sealed) VALUES ($1, $2) "
                "ON CONFLICT (contact_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()",
                contact_id,
                sealed,
            )

    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        if not ids:
            return {}
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch(
                "SELECT contact_id, sealed FROM contact_personal WHERE contact_id = ANY($1::uuid[])", list(ids)
            )
        return {r["contact_id"]: bytes(r["sealed"]) for r in rows}

    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int:
        if not ids:
            return 0
        async with self._pool(country).acquire() as conn:
            status = await conn.execute("DELETE FROM contact_personal WHERE contact_id = ANY($1::uuid[])", list(ids))
        return int(status.split()[-1])

    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]:
        """Ids of rows written more than `older_than_s` seconds ago (a registration in flight is younger)."""
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch(
                "SELECT contact_id FROM contact_personal WHERE updated_at < now() - make_interval(secs => $1)",
                older_than_s,
            )
        return [r["contact_id"] for r in rows]
