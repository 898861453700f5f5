"""PostgreSQL access of the training service:
Places of the shared geography.
Every function takes the caller's connection."""

from __future__ import annotations

from typing import Any

import asyncpg

from lsg_shared.db import Conn

Row = asyncpg.Record


async def upsert_place(conn: Conn, country: str, code: str, place: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO places (country, code, place) VALUES ($1, $2, $3)
        ON CONFLICT (country, code) DO UPDATE SET place = EXCLUDED.place
        """,
        country,
        code,
        place,
    )


async def get_place(conn: Conn, code: str, country: str | None = None) -> list[Row]:
    if country:
        return list(await conn.fetch("SELECT * FROM places WHERE code = $1 AND country = $2", code, country))
    return list(await conn.fetch("SELECT * FROM places WHERE code = $1", code))


async def list_places(conn: Conn) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM places ORDER BY country, code"))
