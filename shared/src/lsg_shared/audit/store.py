"""Every SQL statement on ``lsg_audit_log`` (shared migration ``0002_audit_log``): insert, prune, select."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from lsg_shared.audit.model import COLUMNS, EXPORT_COLUMNS
from lsg_shared.db import Conn

TABLE = "lsg_audit_log"
INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(COLUMNS)))})"


async def insert(conn: Conn, row: Sequence[Any]) -> None:
    """One row (a tuple in ``COLUMNS`` order), in the connection's transaction if one is open."""
    await conn.execute(INSERT, *row)


async def insert_many(conn: Conn, rows: Sequence[Sequence[Any]]) -> None:
    """A batch of rows in one statement."""
    await conn.executemany(INSERT, rows)


# ---- retention ----------------------------------------------------------------------------------------------
async def prune(conn: Conn, retention_days: int, batch: int = 5000) -> int:
    """Delete rows older than `retention_days`, in batches (short locks). Returns how many."""
    total = 0
    while True:
        status = await conn.execute(
            f"DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE} "
            "WHERE occurred_at < now() - make_interval(days => $1) ORDER BY id LIMIT $2)",
            retention_days,
            batch,
        )
        count = int(status.split()[-1])
        total += count
        if count < batch:
            return total


# ---- user identities: anonymise old rows, erase one person's ------------------------------------------------
# The columns of a row that identify a user (personal data): who, from which address, with which client.
IDENTITY_COLUMNS = ("subject", "client_addr", "proxy_addr", "user_agent")
ANONYMISED = "anonymised"
ERASED = "erased"


async def anonymise(conn: Conn, retention_days: int, *, now: datetime | None = None, batch: int = 5000) -> int:
    """Blank the user identity (subject, addresses, user agent) of rows older than `retention_days`, in batches.
    What happened (action, resource ids, status, time) stays for the audit; who did it does not. Returns how
    many rows were anonymised (rows already anonymised are not counted again)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    total = 0
    while True:
        status = await conn.execute(
            f"UPDATE {TABLE} SET subject = CASE WHEN subject IS NULL THEN NULL ELSE '{ANONYMISED}' END, "
            "client_addr = NULL, proxy_addr = NULL, user_agent = NULL "
            f"WHERE id IN (SELECT id FROM {TABLE} WHERE occurred_at < $1 AND (client_addr IS NOT NULL OR "
            f"proxy_addr IS NOT NULL OR user_agent IS NOT NULL OR subject NOT IN ('{ANONYMISED}', '{ERASED}')) "
            "ORDER BY id LIMIT $2)",
            cutoff,
            batch,
        )
        count = int(status.split()[-1])
        total += count
        if count < batch:
            return total


async def subjects(conn: Conn) -> list[str]:
    """Every distinct subject the log names (to find a person's login among them by subject token)."""
    rows = await conn.fetch(
        f"SELECT DISTINCT subject FROM {TABLE} "
        f"WHERE subject IS NOT NULL AND subject NOT IN ('{ANONYMISED}', '{ERASED}')"
    )
    return [r["subject"] for r in rows]


async def erase_subjects(conn: Conn, names: Sequence[str]) -> int:
    """Erase these subjects' identities from every row (subject, addresses, user agent). Returns how many rows."""
    if not names:
        return 0
    status = await conn.execute(
        f"UPDATE {TABLE} SET subject = '{ERASED}', client_addr = NULL, proxy_addr = NULL, user_agent = NULL "
        "WHERE subject = ANY($1::text[])",
        list(names),
    )
    return int(status.split()[-1])


# ---- reading ------------------------------------------------------------------------------------------------
def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def query(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    subject: str | None = None,
    action: str | None = None,
    kind: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """The SELECT for a filter, oldest first (by id: the keyset cursor ``after``). ``action`` ending in ``*``
    is a prefix (``POST /v1/partners*``, ``partner.*``)."""
    clauses: list[str] = []
    args: list[Any] = []

    def where(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if since is not None:
        where("occurred_at >= ?", _utc(since))
    if until is not None:
        where("occurred_at < ?", _utc(until))
    if subject:
        where("subject = ?", subject)
    if action and action.endswith("*"):
        escaped = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where("action LIKE ? ESCAPE '\\'", escaped + "%")
    elif action:
        where("action = ?", action)
    if kind:
        where("kind = ?", kind)
    if after:
        where("id > ?", after)
    sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM {TABLE}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id"
    if limit is not None:
        args.append(limit)
        sql += f" LIMIT ${len(args)}"
    return sql, args


def as_dict(row: Mapping[str, Any] | asyncpg.Record) -> dict[str, Any]:
    """A selected row as JSON-ready values (the time as ISO 8601, the arrays as lists)."""
    out = {c: row[c] for c in EXPORT_COLUMNS}
    out["occurred_at"] = row["occurred_at"].isoformat()
    for name in ("roles", "countries", "municipalities"):
        out[name] = list(row[name] or [])
    return out
