"""Every SQL statement of the money and the period reports: budget versions, expenditure, period reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from lsg_reporting.domain.finance import BudgetLine, Entry
from lsg_shared.db import Conn

_BUDGET_LOCK = 0x15_65_0427


# ---- budget ------------------------------------------------------------------------------------------------
async def add_budget_version(
    conn: Conn, lines: Sequence[BudgetLine], *, reason: str, approved_by: str, co_financing: Decimal
) -> int:
    """Store a new budget version (the next number) with its lines; returns the version."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _BUDGET_LOCK)
    version = int(await conn.fetchval("SELECT coalesce(max(version), 0) + 1 FROM budget_version"))
    await conn.execute(
        "INSERT INTO budget_version (version, reason, approved_by, co_financing) VALUES ($1, $2, $3, $4)",
        version,
        reason,
        approved_by,
        co_financing,
    )
    await conn.executemany(
        "INSERT INTO budget_line (version, partner, category, work_package, amount) VALUES ($1, $2, $3, $4, $5)",
        [(version, b.partner, b.category, b.work_package, b.amount) for b in lines],
    )
    return version


async def budget_versions(conn: Conn) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT v.*, (SELECT sum(amount) FROM budget_line l WHERE l.version = v.version) AS total
        FROM budget_version v ORDER BY version
        """
    )
    return rows


async def budget_version(conn: Conn, version: int | None = None) -> asyncpg.Record | None:
    """One version (default: the one in force, the highest)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM budget_version WHERE version = coalesce($1, (SELECT max(version) FROM budget_version))",
        version,
    )
    return row


async def budget_lines(conn: Conn, version: int) -> list[BudgetLine]:
    rows = await conn.fetch(
        "SELECT partner, category, work_package, amount FROM budget_line WHERE version = $1 "
        "ORDER BY partner, category, work_package",
        version,
    )
    return [BudgetLine(r["partner"], r["category"], r["work_package"], r["amount"]) for r in rows]


# ---- expenditure -------------------------------------------------------------------------------------------
async def expenditure_for_update(conn: Conn, entry_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM expenditure WHERE entry_id = $1 FOR UPDATE", entry_id
    )
    return row


async def expenditure_entry(conn: Conn, entry_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM expenditure WHERE entry_id = $1", entry_id)
    return row


async def correction_of(conn: Conn, entry_id: str) -> str | None:
    value: str | None = await conn.fetchval("SELECT entry_id FROM expenditure WHERE corrects = $1", entry_id)
    return value


async def insert_expenditure(conn: Conn, values: dict[str, Any]) -> asyncpg.Record:
    columns = list(values)
    placeholders = ", ".join(f"${i + 1}" + ("::jsonb" if c == "description" else "") for i, c in enumerate(columns))
    row = await conn.fetchrow(
        f"INSERT INTO expenditure ({', '.join(columns)}) VALUES ({placeholders}) RETURNING *",
        *values.values(),
    )
    assert row is not None  # INSERT/UPDATE ... RETURNING, or the row created just before
    return row


async def verify_expenditure(
    conn: Conn, entry_id: str, eligible: Decimal, ineligible: Decimal, note: str | None, verified_by: str
) -> asyncpg.Record:
    row = await conn.fetchrow(
        """
        UPDATE expenditure SET eligible_eur = $2, ineligible_eur = $3, verification_note = $4, verified_by = $5,
               verified_at = now()
        WHERE entry_id = $1 RETURNING *
        """,
        entry_id,
        eligible,
        ineligible,
        note,
        verified_by,
    )
    assert row is not None  # INSERT/UPDATE ... RETURNING, or the row created just before
    return row


async def expenditure(
    conn: Conn, *, period_id: str | None = None, limit: int = 1_000_000, offset: int = 0
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT * FROM expenditure WHERE $1::text IS NULL OR period_id = $1
        ORDER BY spent_on, entry_id LIMIT $2 OFFSET $3
        """,
        period_id,
        limit,
        offset,
    )
    return rows


def entry_of(row: asyncpg.Record) -> Entry:
    return Entry(
        entry_id=row["entry_id"],
        partner=row["partner"],
        category=row["category"],
        work_package=row["work_package"],
        spent_on=row["spent_on"],
        amount_eur=row["amount_eur"],
        period_id=row["period_id"],
        corrects=row["corrects"],
        eligible_eur=row["eligible_eur"],
        ineligible_eur=row["ineligible_eur"],
    )


async def entries(conn: Conn, *, until: date | None = None) -> list[Entry]:
    """Every entry (dated up to `until`), as the rules take them."""
    rows = await conn.fetch(
        "SELECT * FROM expenditure WHERE $1::date IS NULL OR spent_on <= $1 ORDER BY spent_on, entry_id", until
    )
    return [entry_of(r) for r in rows]


# ---- period reports ----------------------------------------------------------------------------------------
async def report_states(conn: Conn) -> dict[str, str]:
    return {r["period_id"]: r["status"] for r in await conn.fetch("SELECT period_id, status FROM period_report")}


async def report_approvals(conn: Conn) -> dict[str, date]:
    """Approved periods and the (UTC) day of their approval."""
    rows = await conn.fetch(
        "SELECT period_id, (approved_at AT TIME ZONE 'UTC')::date AS day FROM period_report"
        " WHERE status = 'approved' AND approved_at IS NOT NULL"
    )
    return {r["period_id"]: r["day"] for r in rows}


async def lock_reports(conn: Conn) -> None:
    """Serialise whatever reads the periods' states to place an entry against an approval (transaction lock)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _BUDGET_LOCK + 1)


async def report_for_update(conn: Conn, period_id: str) -> asyncpg.Record:
    """The period's report row (created as a draft on first use), locked."""
    await conn.execute("INSERT INTO period_report (period_id) VALUES ($1) ON CONFLICT DO NOTHING", period_id)
    row = await conn.fetchrow("SELECT * FROM period_report WHERE period_id = $1 FOR UPDATE", period_id)
    assert row is not None  # INSERT/UPDATE ... RETURNING, or the row created just before
    return row


async def report(conn: Conn, period_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM period_report WHERE period_id = $1", period_id)
    return row


async def set_narrative(conn: Conn, period_id: str, narrative: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE period_report SET narrative = $2::jsonb, updated_at = now() WHERE period_id = $1",
        period_id,
        narrative,
    )


async def set_status(conn: Conn, period_id: str, status: str, step: dict[str, Any]) -> None:
    await conn.execute(
        """
        UPDATE period_report SET status = $2, history = history || jsonb_build_array($3::jsonb), updated_at = now()
        WHERE period_id = $1
        """,
        period_id,
        status,
        step,
    )


async def freeze(conn: Conn, period_id: str, *, as_json: bytes, xlsx: bytes, pdf: bytes, sha256: str) -> None:
    await conn.execute(
        """
        UPDATE period_report SET approved_at = now(), snapshot_json = $2, snapshot_xlsx = $3, snapshot_pdf = $4,
               snapshot_sha256 = $5
        WHERE period_id = $1
        """,
        period_id,
        as_json,
        xlsx,
        pdf,
        sha256,
    )


async def deliverables_between(conn: Conn, start: date, end: date) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM deliverable WHERE recorded_on BETWEEN $1 AND $2 ORDER BY recorded_on, deliverable_id",
        start,
        end,
    )
    return rows
