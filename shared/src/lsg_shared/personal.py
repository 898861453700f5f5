"""The countries' personal databases (residency, issue 30): a pool per configured country.

A service that holds personal data may keep each country's residents' personal fields in a database of that
country (``LSG_<SVC>_PERSONAL_DATABASE_URL_LV``, ``..._RU``). This is the part every such service shares: the
pools, opened at start-up with the service's one table (``schema``), and ``where`` for the access export. The
service's subclass adds its SQL on that table.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import asyncpg

from lsg_shared import db


def where(url: str) -> str:
    """Host and database of a URL, without user or password (what the access export says)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}{':' + str(parts.port) if parts.port else ''}/{db.database_name(url)}"


class CountryDatabases:
    """A pool per configured country; nothing connects until :meth:`start`. Subclasses set ``schema``."""

    schema: str = ""

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
