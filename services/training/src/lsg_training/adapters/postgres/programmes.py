"""PostgreSQL access of the training service:
Programmes, their modules and sessions.
Every function takes the caller's connection."""

from __future__ import annotations

from typing import Any

import asyncpg

from lsg_shared.db import Conn
from lsg_training.domain.rules import SessionInfo

Row = asyncpg.Record


async def get_programme(conn: Conn, programme_id: str, *, lock: bool = False) -> Row | None:
    sql = "SELECT * FROM programmes WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return await conn.fetchrow(sql, programme_id)


async def get_programme_by_code(conn: Conn, code: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM programmes WHERE code = $1", code)


async def list_programmes(conn: Conn) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM programmes ORDER BY created_at, id"))


async def insert_programme(conn: Conn, p: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO programmes (id, code, title, starts_on, ends_on, completion_rule)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        p["id"],
        p["code"],
        p["title"],
        p["starts_on"],
        p["ends_on"],
        p["completion_rule"],
    )


async def set_completion_rule(conn: Conn, programme_id: str, rule: dict[str, Any]) -> None:
    await conn.execute("UPDATE programmes SET completion_rule = $2 WHERE id = $1", programme_id, rule)


async def list_modules(conn: Conn, programme_id: str) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM modules WHERE programme_id = $1 ORDER BY position, code", programme_id))


async def get_module(conn: Conn, programme_id: str, code: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM modules WHERE programme_id = $1 AND code = $2", programme_id, code)


async def insert_module(conn: Conn, programme_id: str, m: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO modules (programme_id, code, title, hours, position) VALUES ($1, $2, $3, $4, $5)",
        programme_id,
        m["code"],
        m["title"],
        m["hours"],
        m["position"],
    )


async def get_session(conn: Conn, session_id: str, *, lock: bool = False) -> Row | None:
    return await conn.fetchrow("SELECT * FROM sessions WHERE id = $1" + (" FOR UPDATE" if lock else ""), session_id)


async def list_sessions(conn: Conn, programme_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT s.*, (SELECT count(*) FROM attendance a WHERE a.session_id = s.id AND a.present) AS attendees
            FROM sessions s JOIN modules m ON m.programme_id = s.programme_id AND m.code = s.module_code
            WHERE s.programme_id = $1 ORDER BY s.held_on, m.position, s.module_code, s.id
            """,
            programme_id,
        )
    )


async def insert_session(conn: Conn, s: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO sessions (id, programme_id, module_code, held_on, place, trainers, language)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        s["id"],
        s["programme_id"],
        s["module_code"],
        s["held_on"],
        s["place"],
        s["trainers"],
        s["language"],
    )


async def mark_session_closed(conn: Conn, session_id: str) -> None:
    await conn.execute("UPDATE sessions SET closed_at = now() WHERE id = $1", session_id)


async def count_present(conn: Conn, session_id: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM attendance WHERE session_id = $1 AND present", session_id))


async def session_infos(conn: Conn, programme_id: str) -> list[SessionInfo]:
    rows = await conn.fetch("SELECT id, module_code, held_on FROM sessions WHERE programme_id = $1", programme_id)
    return [SessionInfo(r["id"], r["module_code"], r["held_on"]) for r in rows]
