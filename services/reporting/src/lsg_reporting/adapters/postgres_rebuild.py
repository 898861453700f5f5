"""PostgreSQL statements of the rebuild: its runs, its lock, the fresh fact table and the swap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lsg_reporting.adapters.postgres import FACT_TABLE
from lsg_reporting.domain.rules import FACT_COLUMNS
from lsg_shared.db import Conn

_REBUILD_LOCK = 0x15_65_0405
REBUILD_TABLE = "fact_rebuild"


async def try_rebuild_lock(conn: Conn) -> bool:
    """The session lock only one rebuild holds at a time (False: another rebuild is running)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", _REBUILD_LOCK))


async def release_rebuild_lock(conn: Conn) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _REBUILD_LOCK)


async def rebuild_started(conn: Conn, run_id: str) -> None:
    await conn.execute(
        "INSERT INTO rebuild_run (id, status) VALUES ($1, 'running') ON CONFLICT (id) DO UPDATE SET status = 'running'",
        run_id,
    )


async def rebuild_failed(conn: Conn, run_id: str, error: str) -> None:
    await conn.execute(
        "UPDATE rebuild_run SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1", run_id, error
    )


async def rebuild_done(conn: Conn, run_id: str, events: int, facts: int, copied_live: int) -> None:
    await conn.execute(
        "UPDATE rebuild_run SET status = 'done', finished_at = now(), events = $2, facts = $3, "
        "copied_live = $4 WHERE id = $1",
        run_id,
        events,
        facts,
        copied_live,
    )


async def rebuild_run(conn: Conn, run_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM rebuild_run WHERE id = $1", run_id)
    return None if row is None else dict(row)


async def fresh_rebuild_table(conn: Conn) -> datetime:
    """An empty fact table to rebuild into; returns the database time before it (the live facts' cut)."""
    started: datetime = await conn.fetchval("SELECT now()")
    await conn.execute(f"DROP TABLE IF EXISTS {REBUILD_TABLE}")
    await conn.execute(f"CREATE TABLE {REBUILD_TABLE} (LIKE {FACT_TABLE} INCLUDING DEFAULTS)")
    return started


async def copy_facts(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """Facts (as `Extractor.extend` makes them) into the rebuild table: binary COPY, its own transaction."""
    await conn.copy_records_to_table(REBUILD_TABLE, records=rows, columns=FACT_COLUMNS)


async def swap_in_rebuild(conn: Conn, started: datetime) -> int:
    """Index the rebuilt facts, then in one transaction (`fact` locked against writers) copy what the live
    consumer wrote since `started` that the rebuild lacks, swap the tables and mark every indicator for
    republication. Returns how many live facts were copied."""
    # One sort of every fact: in memory rather than in temporary files (the default is 64 MB), and then the
    # statistics, which a table this new does not have until autovacuum comes round.
    await conn.execute("SET maintenance_work_mem = '512MB'")
    try:
        await conn.execute(f"CREATE INDEX ON {REBUILD_TABLE} (code, corr_key)")
    finally:
        await conn.execute("RESET maintenance_work_mem")
    await conn.execute(f"ANALYZE {REBUILD_TABLE}")
    async with conn.transaction():
        await conn.execute(f"LOCK TABLE {FACT_TABLE} IN EXCLUSIVE MODE")
        copied = await conn.fetchval(
            f"""
            WITH moved AS (
                INSERT INTO {REBUILD_TABLE} SELECT * FROM {FACT_TABLE} f
                WHERE f.recorded_at >= $1 AND NOT EXISTS (
                    SELECT 1 FROM {REBUILD_TABLE} n WHERE n.source = f.source AND n.event_id = f.event_id)
                RETURNING 1)
            SELECT count(*) FROM moved
            """,
            started,
        )
        await conn.execute(f"ALTER TABLE {FACT_TABLE} RENAME TO fact_retired")
        await conn.execute(f"ALTER TABLE {REBUILD_TABLE} RENAME TO {FACT_TABLE}")
        await conn.execute("DROP TABLE fact_retired")
        await conn.execute("ALTER INDEX IF EXISTS fact_rebuild_code_corr_key_idx RENAME TO fact_code_key")
        await conn.execute(
            "INSERT INTO dirty_indicator (code) SELECT code FROM indicator "
            "ON CONFLICT (code) DO UPDATE SET version = dirty_indicator.version + 1"
        )
    return int(copied)
