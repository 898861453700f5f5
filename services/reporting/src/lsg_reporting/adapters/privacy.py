"""Every SQL statement of reporting's privacy: the logins stored as who did what, their replacement by a pseudonym,
a person's actions for the access export, approved snapshots naming a login, and the record of erasures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from lsg_reporting.domain.privacy import PSEUDONYM_PREFIX
from lsg_shared.db import Conn

# (category, table, login column, time column): every column that stores a login as who did something.
IDENTITY_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("budget_versions", "budget_version", "approved_by", "created_at"),
    ("expenditure_recorded", "expenditure", "recorded_by", "recorded_at"),
    ("expenditure_verified", "expenditure", "verified_by", "verified_at"),
    ("deliverables", "deliverable", "recorded_by", "created_at"),
)


async def logins(conn: Conn, before: datetime | None = None) -> list[str]:
    """Every login named as who did something (on records made before `before`, when given); pseudonyms are not
    logins."""
    parts = [
        f"SELECT {col} AS login FROM {table} WHERE $1::timestamptz IS NULL OR {at} < $1"
        for _, table, col, at in IDENTITY_COLUMNS
    ]
    parts.append(
        "SELECT step->>'by' FROM period_report, jsonb_array_elements(history) AS step"
        " WHERE $1::timestamptz IS NULL OR (step->>'at')::timestamptz < $1"
    )
    rows = await conn.fetch(
        f"SELECT DISTINCT login FROM ({' UNION '.join(parts)}) AS named "
        "WHERE login IS NOT NULL AND left(login, $2) <> $3",
        before,
        len(PSEUDONYM_PREFIX),
        PSEUDONYM_PREFIX,
    )
    return sorted(r["login"] for r in rows)


async def replace_login(conn: Conn, login: str, pseudonym: str, before: datetime | None = None) -> dict[str, int]:
    """Replace `login` with `pseudonym` in every identity column (on records made before `before`, when given);
    per category, how many records changed. Report histories are :func:`reports_naming` + :func:`set_history`."""
    counts: dict[str, int] = {}
    for category, table, col, at in IDENTITY_COLUMNS:
        status = await conn.execute(
            f"UPDATE {table} SET {col} = $2 WHERE {col} = $1 AND ($3::timestamptz IS NULL OR {at} < $3)",
            login,
            pseudonym,
            before,
        )
        counts[category] = int(status.split()[-1])
    return counts


async def reports_naming(conn: Conn, names: Sequence[str]) -> list[asyncpg.Record]:
    """The period reports whose history names one of `names`: (period_id, history)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT period_id, history FROM period_report p WHERE EXISTS ("
        " SELECT 1 FROM jsonb_array_elements(p.history) AS step WHERE step->>'by' = ANY($1::text[]))"
        " ORDER BY period_id FOR UPDATE",
        list(names),
    )
    return rows


async def set_history(conn: Conn, period_id: str, history: list[dict[str, Any]]) -> None:
    await conn.execute("UPDATE period_report SET history = $2::jsonb WHERE period_id = $1", period_id, history)


async def snapshots_naming(conn: Conn, names: Sequence[str]) -> list[asyncpg.Record]:
    """Approved reports whose frozen JSON holds one of `names` as text (reports frozen before documents stopped
    naming logins): (period_id, snapshot_json)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT period_id, snapshot_json FROM period_report WHERE snapshot_json IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM unnest($1::text[]) AS n WHERE position(convert_to(n, 'UTF8') IN snapshot_json) > 0)"
        " ORDER BY period_id FOR UPDATE",
        list(names),
    )
    return rows


async def set_snapshot_json(conn: Conn, period_id: str, as_json: bytes, sha256: str) -> None:
    await conn.execute(
        "UPDATE period_report SET snapshot_json = $2, snapshot_sha256 = $3 WHERE period_id = $1",
        period_id,
        as_json,
        sha256,
    )


# ---- the access export ------------------------------------------------------------------------------------
async def actions_of(conn: Conn, names: Sequence[str]) -> dict[str, list[asyncpg.Record]]:
    """What the logins `names` did, per category (oldest first)."""
    who = list(names)
    return {
        "budget_versions": list(
            await conn.fetch(
                "SELECT approved_by AS login, version, reason, created_at FROM budget_version"
                " WHERE approved_by = ANY($1::text[]) ORDER BY version",
                who,
            )
        ),
        "expenditure_recorded": list(
            await conn.fetch(
                "SELECT recorded_by AS login, entry_id, period_id, partner, corrects, recorded_at FROM expenditure"
                " WHERE recorded_by = ANY($1::text[]) ORDER BY recorded_at, entry_id",
                who,
            )
        ),
        "expenditure_verified": list(
            await conn.fetch(
                "SELECT verified_by AS login, entry_id, period_id, eligible_eur, ineligible_eur, verification_note,"
                " verified_at FROM expenditure WHERE verified_by = ANY($1::text[]) ORDER BY verified_at, entry_id",
                who,
            )
        ),
        "deliverables": list(
            await conn.fetch(
                "SELECT recorded_by AS login, deliverable_id, kind, recorded_on, created_at FROM deliverable"
                " WHERE recorded_by = ANY($1::text[]) ORDER BY created_at, deliverable_id",
                who,
            )
        ),
        "report_steps": list(
            await conn.fetch(
                "SELECT step->>'by' AS login, period_id, step->>'action' AS action, step->>'at' AS at"
                " FROM period_report, jsonb_array_elements(history) AS step"
                " WHERE step->>'by' = ANY($1::text[]) ORDER BY (step->>'at')::timestamptz, period_id",
                who,
            )
        ),
    }


async def record_erasure(conn: Conn, request_id: str, requested: str, counts: dict[str, int]) -> bool:
    """That an erasure took place (never whom or what); False when this request was already recorded."""
    row = await conn.fetchval(
        "INSERT INTO reporting_privacy_erasures (request_id, requested, counts) VALUES ($1, $2, $3)"
        " ON CONFLICT (request_id) DO NOTHING RETURNING 1",
        request_id,
        requested,
        counts,
    )
    return row is not None
