"""PostgreSQL access of the training service:
Participants and enrolments (personal fields stay in this service).
Every function takes the caller's connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from lsg_shared.db import Conn

Row = asyncpg.Record


async def get_participant(conn: Conn, participant_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow("SELECT * FROM participants WHERE id = $1", participant_id)


async def get_participant_by_ref(conn: Conn, ref: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM participants WHERE ref = $1", ref)


async def get_participant_by_identity(conn: Conn, identity: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM participants WHERE identity = $1", identity)


async def participants_by_ids(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row]:
    rows = await conn.fetch("SELECT * FROM participants WHERE id = ANY($1::uuid[])", list(ids))
    return {r["id"]: r for r in rows}


async def insert_participant(conn: Conn, p: dict[str, Any]) -> Row:
    row = await conn.fetchrow(
        """
        INSERT INTO participants (id, key, ref, identity, full_name, email, phone, role, country, place, gender,
                                  organisation, residence)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (identity) DO NOTHING
        RETURNING *
        """,
        p["id"],
        p["key"],
        p["ref"],
        p["identity"],
        p["full_name"],
        p["email"],
        p["phone"],
        p["role"],
        p["country"],
        p["place"],
        p["gender"],
        p["organisation"],
        p.get("residence"),
    )
    if row is None:  # a concurrent request registered the same person first
        row = await get_participant_by_identity(conn, p["identity"])
    assert row is not None
    return row


async def update_participant(conn: Conn, participant_id: uuid.UUID, changes: dict[str, Any]) -> Row:
    columns = list(changes)
    assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
    row = await conn.fetchrow(
        f"UPDATE participants SET {assignments}, updated_at = now() WHERE id = $1 RETURNING *",
        participant_id,
        *[changes[c] for c in columns],
    )
    assert row is not None
    return row


async def list_participants(
    conn: Conn, *, programme_id: str | None, country: str | None, limit: int, offset: int
) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT p.* FROM participants p
            WHERE ($1::text IS NULL OR EXISTS (SELECT 1 FROM enrolments e WHERE e.participant_id = p.id
                                               AND e.programme_id = $1))
              AND ($2::text IS NULL OR p.country = $2)
            ORDER BY p.created_at, p.id LIMIT $3 OFFSET $4
            """,
            programme_id,
            country,
            limit,
            offset,
        )
    )


async def enrol(conn: Conn, programme_id: str, participant_ids: Sequence[uuid.UUID]) -> int:
    result: str = await conn.execute(
        """
        INSERT INTO enrolments (programme_id, participant_id)
        SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING
        """,
        programme_id,
        list(participant_ids),
    )
    return int(result.split()[-1])


async def lock_enrolment(conn: Conn, programme_id: str, participant_id: uuid.UUID) -> Row | None:
    """Serialises every recomputation of one participant's progress in one programme."""
    return await conn.fetchrow(
        "SELECT * FROM enrolments WHERE programme_id = $1 AND participant_id = $2 FOR UPDATE",
        programme_id,
        participant_id,
    )


async def enrolled_ids(conn: Conn, programme_id: str) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT participant_id FROM enrolments WHERE programme_id = $1 ORDER BY participant_id", programme_id
    )
    return [r["participant_id"] for r in rows]


async def enrolled_participants(conn: Conn, programme_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT p.*, e.currently_complete, e.completed_on, e.enrolled_at
            FROM enrolments e JOIN participants p ON p.id = e.participant_id
            WHERE e.programme_id = $1 ORDER BY p.country, p.full_name, p.id
            """,
            programme_id,
        )
    )


async def set_completion(
    conn: Conn, programme_id: str, participant_id: uuid.UUID, *, currently: bool, first_on: date | None
) -> None:
    await conn.execute(
        """
        UPDATE enrolments SET currently_complete = $3,
               completed_on = COALESCE(completed_on, $4),
               completed_at = CASE WHEN completed_at IS NULL AND $4::date IS NOT NULL THEN now() ELSE completed_at END
        WHERE programme_id = $1 AND participant_id = $2
        """,
        programme_id,
        participant_id,
        currently,
        first_on,
    )
