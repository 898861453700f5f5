"""PostgreSQL access for the training service (asyncpg). Every function takes the caller's connection, so
the business write and its outbox rows share one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from lsg_shared.db import Conn
from lsg_training.domain.rules import SessionInfo

Row = asyncpg.Record


# --- places ---------------------------------------------------------------------------------------------------------


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


# --- programmes, modules, sessions ----------------------------------------------------------------------------------


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


# --- participants and enrolments ------------------------------------------------------------------------------------


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


# --- attendance -----------------------------------------------------------------------------------------------------


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


# --- activities -----------------------------------------------------------------------------------------------------


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


# --- privacy (issue 30) ---------------------------------------------------------------------------------------------


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
