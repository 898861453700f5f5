"""PostgreSQL access of the training service:
Attendance and module status.
Every function takes the caller's connection."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from lsg_shared.db import Conn

Row = asyncpg.Record


async def record_attendance(conn: Conn, session_id: str, participant_id: uuid.UUID, present: bool, source: str) -> str:
    """Upsert one record. Returns 'created', 'changed' or 'unchanged' (the same check-in twice is one record)."""
    previous = await conn.fetchval(
        "SELECT present FROM attendance WHERE session_id = $1 AND participant_id = $2 FOR UPDATE",
        session_id,
        participant_id,
    )
    if previous is None:
        await conn.execute(
            "INSERT INTO attendance (session_id, participant_id, present, source) VALUES ($1, $2, $3, $4)",
            session_id,
            participant_id,
            present,
            source,
        )
        return "created"
    if previous == present:
        return "unchanged"
    await conn.execute(
        """
        UPDATE attendance SET present = $3, source = $4, updated_at = now()
        WHERE session_id = $1 AND participant_id = $2
        """,
        session_id,
        participant_id,
        present,
        source,
    )
    return "changed"


async def delete_attendance(conn: Conn, session_id: str, participant_id: uuid.UUID) -> bool:
    result: str = await conn.execute(
        "DELETE FROM attendance WHERE session_id = $1 AND participant_id = $2", session_id, participant_id
    )
    return result.endswith(" 1")


async def session_attendance(conn: Conn, session_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT a.*, p.full_name, p.ref, p.residence FROM attendance a JOIN participants p ON p.id = a.participant_id
            WHERE a.session_id = $1 ORDER BY p.full_name, p.id
            """,
            session_id,
        )
    )


async def present_sessions(conn: Conn, programme_id: str, participant_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT a.session_id FROM attendance a JOIN sessions s ON s.id = a.session_id
        WHERE s.programme_id = $1 AND a.participant_id = $2 AND a.present
        """,
        programme_id,
        participant_id,
    )
    return [r["session_id"] for r in rows]


async def programme_attendance(conn: Conn, programme_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT a.session_id, a.participant_id, a.present FROM attendance a
            JOIN sessions s ON s.id = a.session_id WHERE s.programme_id = $1
            """,
            programme_id,
        )
    )


async def module_status(conn: Conn, programme_id: str, participant_id: uuid.UUID) -> dict[str, Row]:
    rows = await conn.fetch(
        "SELECT * FROM module_status WHERE programme_id = $1 AND participant_id = $2", programme_id, participant_id
    )
    return {r["module_code"]: r for r in rows}


async def programme_module_status(conn: Conn, programme_id: str) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM module_status WHERE programme_id = $1", programme_id))


async def save_module_status(
    conn: Conn,
    programme_id: str,
    participant_id: uuid.UUID,
    module_code: str,
    *,
    attended: bool,
    revision: int,
    last_session_id: str | None,
    attended_on: date | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO module_status (programme_id, participant_id, module_code, attended, revision, last_session_id,
                                   attended_on)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (programme_id, participant_id, module_code) DO UPDATE SET
            attended = EXCLUDED.attended, revision = EXCLUDED.revision,
            last_session_id = EXCLUDED.last_session_id, attended_on = EXCLUDED.attended_on
        """,
        programme_id,
        participant_id,
        module_code,
        attended,
        revision,
        last_session_id,
        attended_on,
    )
