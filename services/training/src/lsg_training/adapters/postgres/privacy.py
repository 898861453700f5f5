"""PostgreSQL access of the training service:
Erasure, access and retention of participants (issue 30).
Every function takes the caller's connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from lsg_shared.db import Conn

Row = asyncpg.Record


async def participants_by_sealed(conn: Conn, column: str, values: Sequence[str]) -> Row | None:
    """A participant by `ref` or `identity`, in any of its stored forms (plain, or the residency stand-in)."""
    assert column in ("ref", "identity")
    return await conn.fetchrow(f"SELECT * FROM participants WHERE {column} = ANY($1::text[]) LIMIT 1", list(values))


async def living_participants(conn: Conn) -> list[Row]:
    """Every participant whose personal data has not been erased (for matching an erasure or access request)."""
    return list(await conn.fetch("SELECT * FROM participants WHERE erased_at IS NULL ORDER BY created_at, id"))


async def participants_by_keys(conn: Conn, keys: Sequence[str]) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM participants WHERE key = ANY($1::text[])", list(keys)))


async def erase_participants(conn: Conn, ids: Sequence[uuid.UUID]) -> int:
    """Blank the personal fields; keep the pseudonymous facts (key, role, country, place, gender) that published
    figures were made from, so no figure changes."""
    status: str = await conn.execute(
        """
        UPDATE participants SET ref = NULL, identity = 'erased:' || id::text, full_name = '', email = NULL,
               phone = NULL, organisation = NULL, residence = NULL, erased_at = now(), updated_at = now()
        WHERE id = ANY($1::uuid[]) AND erased_at IS NULL
        """,
        list(ids),
    )
    return int(status.split()[-1])


async def sessions_with_trainers(conn: Conn) -> list[Row]:
    return list(await conn.fetch("SELECT id, place, trainers FROM sessions WHERE trainers <> '[]'::jsonb"))


async def set_trainers(conn: Conn, session_id: str, trainers: list[str]) -> None:
    await conn.execute("UPDATE sessions SET trainers = $2 WHERE id = $1", session_id, trainers)


async def record_erasure(conn: Conn, request_id: str, requested: str, counts: dict[str, int]) -> bool:
    """That an erasure took place (never whom or what); False when this request was already recorded."""
    row = await conn.fetchval(
        """
        INSERT INTO privacy_erasures (request_id, requested, counts) VALUES ($1, $2, $3)
        ON CONFLICT (request_id) DO NOTHING RETURNING 1
        """,
        request_id,
        requested,
        counts,
    )
    return row is not None


async def participant_enrolments(conn: Conn, participant_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT e.*, p.code, p.title, p.starts_on, p.ends_on FROM enrolments e
            JOIN programmes p ON p.id = e.programme_id WHERE e.participant_id = $1 ORDER BY p.starts_on, p.id
            """,
            participant_id,
        )
    )


async def participant_attendance(conn: Conn, participant_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT a.*, s.programme_id, s.module_code, s.held_on FROM attendance a
            JOIN sessions s ON s.id = a.session_id WHERE a.participant_id = $1 ORDER BY s.held_on, s.id
            """,
            participant_id,
        )
    )


async def participant_module_status(conn: Conn, participant_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM module_status WHERE participant_id = $1 ORDER BY programme_id, module_code", participant_id
        )
    )


async def participant_activities(conn: Conn, participant_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT a.id, a.kind, a.title, a.starts_on, a.ends_on, ap.added_at FROM activity_participants ap
            JOIN activities a ON a.id = ap.activity_id WHERE ap.participant_id = $1 ORDER BY a.starts_on, a.id
            """,
            participant_id,
        )
    )


async def retention_candidates(conn: Conn) -> list[Row]:
    """Each living participant with the end dates of every programme and activity they took part in."""
    return list(
        await conn.fetch(
            """
            SELECT p.id, p.created_at,
                   ARRAY(SELECT pr.ends_on FROM enrolments e JOIN programmes pr ON pr.id = e.programme_id
                         WHERE e.participant_id = p.id
                         UNION ALL
                         SELECT a.ends_on FROM activity_participants ap JOIN activities a ON a.id = ap.activity_id
                         WHERE ap.participant_id = p.id) AS ends
            FROM participants p WHERE p.erased_at IS NULL ORDER BY p.id
            """
        )
    )


async def resident_ids(conn: Conn, country: str, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of `ids`, those whose personal fields the main database says are in `country`'s personal database."""
    rows = await conn.fetch(
        "SELECT id FROM participants WHERE id = ANY($1::uuid[]) AND residence = $2", list(ids), country
    )
    return {r["id"] for r in rows}
