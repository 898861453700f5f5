"""Rebuild every figure from the beginning of the topics into a fresh fact table, then swap it in.

1. Note the database time T, create ``fact_rebuild`` like ``fact`` (no index yet), and read the topics' end
   offsets.
2. Read every partition from offset 0 up to those ends (no consumer group: nothing is committed, the live
   consumer is untouched; fetches cover every partition at once), decode with the live consumer's fast path
   (`adapters.fast_decode`, the full contract for what it does not take), deduplicate by CloudEvents
   identity, extract the facts, and COPY them in binary on a second connection while the next batch is
   decoded. Then index the table (with a larger sort memory) and gather its statistics, so the figures
   computed right after the swap get a good plan.
3. In one transaction, with ``fact`` locked against writers: copy the facts the live consumer wrote since
   T that the rebuild does not have (records past the noted ends), swap the tables, drop the old one and
   mark every indicator for republication. Readers see the old figures until the commit, then the new.

A rebuild holds one connection (and a session lock) from start to end and commits in many transactions, so it
takes the pool rather than a unit of work.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from lsg_events import EVENT_TYPES
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_reporting.adapters import fast_decode
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
                result = await _rebuild(pool, conn, kafka, extractor, batch, run_id, consumed_topics)
            except Exception as exc:
                await runs.rebuild_failed(conn, run_id, f"{type(exc).__name__}: {exc}"[:2000])
                raise
            await runs.rebuild_done(conn, run_id, result.events, result.facts, result.copied_live)
            return result
        finally:
            await runs.release_rebuild_lock(conn)


async def _rebuild(
    pool: asyncpg.Pool,
    conn: Any,
    kafka: KafkaSettings,
    extractor: Extractor,
    batch: int,
    run_id: str,
    consumed: tuple[str, ...],
) -> RebuildResult:
    """Read, decode and extract in this task while a writer task COPies the previous batches' facts on a
    connection of its own: the database's work overlaps the decoding (they run on different cores)."""
    clock = time.perf_counter()
    started = await runs.fresh_rebuild_table(conn)
    fast = fast_decode.for_extractor(EVENT_TYPES, extractor, consumed)
    events = facts = skipped = 0
    seen: set[tuple[str, str]] = set()
    queue: asyncio.Queue[list[tuple[Any, ...]] | None] = asyncio.Queue(maxsize=_WRITES_AHEAD)

    async def write() -> None:
        async with pool.acquire() as out:
            while (rows := await queue.get()) is not None:
                await runs.copy_facts(out, rows)

    writer = asyncio.create_task(write())
    # Millions of short-lived objects and an ever larger set of identities: collect the young generation
    # rarely, as the consumer's `serve` does (restored at the end: a rebuild may run inside `serve`).
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 50_000), max(thresholds[1], 20), max(thresholds[2], 100))
    try:
        async for records in replay(kafka, consumed, batch=batch):
            rows: list[tuple[Any, ...]] = []
            for record in records:
                event = fast.decode(record.value, record.headers)
                if event is None:
                    try:
                        event = from_kafka(record.value, record.headers, EVENT_TYPES)
                    except PoisonMessage:
                        skipped += 1  # the live consumer dead-lettered it
                        continue
                ident = (event.source, event.id)
                if ident in seen:
                    continue
                seen.add(ident)
                before = len(rows)
                try:
                    extractor.extend(rows, event)
                except PoisonMessage:
                    del rows[before:]
                    skipped += 1  # dead-lettered by the live consumer's pre-check
                    continue
                events += 1
            if rows:
                facts += len(rows)
                await _put(queue, rows, writer)
        read_s = time.perf_counter() - clock
        await _put(queue, None, writer)
        await writer
        written_s = time.perf_counter() - clock
    finally:
        gc.set_threshold(*thresholds)
        if not writer.done():
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer
    copied = await runs.swap_in_rebuild(conn, started)
    log.info(
        "rebuild %s: %d events, %d facts, %d skipped, %d copied from live; read and decoded in %.1f s, "
        "written in %.1f s, indexed and swapped in %.1f s",
        run_id,
        events,
        facts,
        skipped,
        copied,
        read_s,
        written_s,
        time.perf_counter() - clock,
    )
    return RebuildResult(run_id, events, facts, skipped, copied)


_WRITES_AHEAD = 4  # batches decoded ahead of the writer (memory: a batch of 5 000 records is ~15 000 facts)


async def _put(
    queue: asyncio.Queue[list[tuple[Any, ...]] | None], item: list[tuple[Any, ...]] | None, writer: asyncio.Task[None]
) -> None:
    """Hand a batch to the writer, waiting while it is behind; a writer that failed raises its error here."""
    put = asyncio.ensure_future(queue.put(item))
    done, _ = await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
    if writer in done and put not in done:
        put.cancel()
    if writer.done() and (writer.cancelled() or writer.exception() is not None):
        writer.result()  # raises
        raise RuntimeError("the rebuild's writer ended early")


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
