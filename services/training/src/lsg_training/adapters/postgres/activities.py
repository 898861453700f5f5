"""PostgreSQL access of the training service:
Study tour, conference, staff exchange: activities and who took part.
Every function takes the caller's connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from lsg_shared.db import Conn

Row = asyncpg.Record


async def get_activity(conn: Conn, activity_id: str, *, lock: bool = False) -> Row | None:
    return await conn.fetchrow("SELECT * FROM activities WHERE id = $1" + (" FOR UPDATE" if lock else ""), activity_id)


async def list_activities(conn: Conn) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT a.*, (SELECT count(*) FROM activity_participants ap WHERE ap.activity_id = a.id) AS participants
            FROM activities a ORDER BY a.starts_on, a.id
            """
        )
    )


async def insert_activity(conn: Conn, a: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO activities (id, kind, title, starts_on, ends_on, place, programme_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        a["id"],
        a["kind"],
        a["title"],
        a["starts_on"],
        a["ends_on"],
        a["place"],
        a["programme_id"],
    )


async def add_activity_participants(conn: Conn, activity_id: str, ids: Sequence[uuid.UUID]) -> int:
    result: str = await conn.execute(
        "INSERT INTO activity_participants (activity_id, participant_id) SELECT $1, unnest($2::uuid[]) "
        "ON CONFLICT DO NOTHING",
        activity_id,
        list(ids),
    )
    return int(result.split()[-1])


async def remove_activity_participant(conn: Conn, activity_id: str, participant_id: uuid.UUID) -> bool:
    result: str = await conn.execute(
        "DELETE FROM activity_participants WHERE activity_id = $1 AND participant_id = $2", activity_id, participant_id
    )
    return result.endswith(" 1")


async def activity_participants(conn: Conn, activity_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT p.* FROM activity_participants ap JOIN participants p ON p.id = ap.participant_id
            WHERE ap.activity_id = $1 ORDER BY p.country, p.full_name, p.id
            """,
            activity_id,
        )
    )


async def activity_breakdown(conn: Conn, activity_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT p.country, p.role, p.gender, count(*) AS n
            FROM activity_participants ap JOIN participants p ON p.id = ap.participant_id
            WHERE ap.activity_id = $1 GROUP BY p.country, p.role, p.gender ORDER BY 1, 2, 3
            """,
            activity_id,
        )
    )


async def mark_activity_held(conn: Conn, activity_id: str) -> None:
    await conn.execute("UPDATE activities SET held_at = now() WHERE id = $1", activity_id)
