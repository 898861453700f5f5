"""Rebuild every figure from the beginning of the topics into a fresh fact table, then swap it in.

1. Note the database time T, create ``fact_rebuild`` like ``fact``, and read the topics' end offsets.
2. Read every partition from offset 0 up to those ends (no consumer group: nothing is committed, the live
   consumer is untouched), deduplicate by CloudEvents identity, and write the facts set-based.
3. In one transaction, with ``fact`` locked against writers: copy the facts the live consumer wrote since
   T that the rebuild does not have (records past the noted ends), swap the tables, drop the old one and
   mark every indicator for republication. Readers see the old figures until the commit, then the new.

A rebuild holds one connection (and a session lock) from start to end and commits in many transactions, so it
takes the pool rather than a unit of work.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from lsg_events import EVENT_TYPES
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.adapters import postgres_rebuild as runs
from lsg_reporting.adapters.topics import replay
from lsg_reporting.application.aggregation import CONSUMED_TOPICS
from lsg_reporting.application.errors import NotFound
from lsg_reporting.domain.rules import Extractor
from lsg_shared.settings import KafkaSettings
from lsg_shared.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class RebuildResult:
    id: str
    events: int
    facts: int
    skipped: int
    copied_live: int


async def rebuild(
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    extractor: Extractor,
    *,
    batch: int = 5000,
    run_id: str | None = None,
    consumed_topics: tuple[str, ...] = CONSUMED_TOPICS,
) -> RebuildResult:
    run_id = run_id or uuid.uuid4().hex[:12]
    async with pool.acquire() as conn:
        if not await runs.try_rebuild_lock(conn):
            raise RuntimeError("another rebuild is running")
        try:
            await runs.rebuild_started(conn, run_id)
            try:
                result = await _rebuild(conn, kafka, extractor, batch, run_id, consumed_topics)
            except Exception as exc:
                await runs.rebuild_failed(conn, run_id, f"{type(exc).__name__}: {exc}"[:2000])
                raise
            await runs.rebuild_done(conn, run_id, result.events, result.facts, result.copied_live)
            return result
        finally:
            await runs.release_rebuild_lock(conn)


async def _rebuild(
    conn: Any, kafka: KafkaSettings, extractor: Extractor, batch: int, run_id: str, consumed: tuple[str, ...]
) -> RebuildResult:
    started = await runs.fresh_rebuild_table(conn)
    events = facts = skipped = 0
    seen: set[tuple[str, str]] = set()
    async for records in replay(kafka, consumed, batch=batch):
        fresh = []
        for record in records:
            try:
                event = from_kafka(record.value, record.headers, EVENT_TYPES)
            except PoisonMessage:
                skipped += 1  # the live consumer dead-lettered it
                continue
            ident = (event.source, event.id)
            if ident in seen:
                continue
            seen.add(ident)
            fresh.append(event)
        rows = []
        for event in fresh:
            try:
                rows.extend(extractor.facts((event,)))
                events += 1
            except PoisonMessage:
                skipped += 1  # dead-lettered by the live consumer's pre-check
        async with conn.transaction():
            await pg.insert_facts(conn, rows, table=runs.REBUILD_TABLE)
        facts += len(rows)
    copied = await runs.swap_in_rebuild(conn, started)
    log.info("rebuild %s: %d events, %d facts, %d skipped, %d copied from live", run_id, events, facts, skipped, copied)
    return RebuildResult(run_id, events, facts, skipped, copied)


@dataclass
class RebuildRuns:
    """Rebuilds started through the API, running in this process's background."""

    tasks: dict[str, asyncio.Task[RebuildResult]] = field(default_factory=dict)

    def start(self, pool: asyncpg.Pool, kafka: KafkaSettings, extractor: Extractor, *, batch: int) -> str:
        run_id = uuid.uuid4().hex[:12]
        task = asyncio.create_task(rebuild(pool, kafka, extractor, batch=batch, run_id=run_id))
        self.tasks[run_id] = task
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
        return run_id


async def run_state(uow: UnitOfWork, run_id: str) -> dict[str, Any]:
    """A rebuild's record: status, times, counts, error."""
    async with uow.read() as conn:
        state = await runs.rebuild_run(conn, run_id)
    if state is None:
        raise NotFound("rebuild", run_id)
    return state
