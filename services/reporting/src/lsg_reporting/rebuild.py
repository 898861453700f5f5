"""Rebuild every figure from the beginning of the topics into a fresh fact table, then swap it in.

1. Note the database time T, create ``fact_rebuild`` like ``fact``, and read the topics' end offsets.
2. Read every partition from offset 0 up to those ends (no consumer group: nothing is committed, the live
   consumer is untouched), deduplicate by CloudEvents identity, and write the facts set-based.
3. In one transaction, with ``fact`` locked against writers: copy the facts the live consumer wrote since
   T that the rebuild does not have (records past the noted ends), swap the tables, drop the old one and
   mark every indicator for republication. Readers see the old figures until the commit, then the new.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from lsg_events import EVENT_TYPES, topics
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_reporting.adapters import repository as repo
from lsg_reporting.domain.rules import Extractor
from lsg_shared.kafka import client_kwargs
from lsg_shared.settings import KafkaSettings

log = logging.getLogger(__name__)

CONSUMED_TOPICS = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)
_REBUILD_LOCK = 0x15_65_0405


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
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _REBUILD_LOCK):
            raise RuntimeError("another rebuild is running")
        try:
            await conn.execute(
                "INSERT INTO rebuild_run (id, status) VALUES ($1, 'running') "
                "ON CONFLICT (id) DO UPDATE SET status = 'running'",
                run_id,
            )
            try:
                result = await _rebuild(conn, kafka, extractor, batch, run_id, consumed_topics)
            except Exception as exc:
                await conn.execute(
                    "UPDATE rebuild_run SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1",
                    run_id,
                    f"{type(exc).__name__}: {exc}"[:2000],
                )
                raise
            await conn.execute(
                "UPDATE rebuild_run SET status = 'done', finished_at = now(), events = $2, facts = $3, "
                "copied_live = $4 WHERE id = $1",
                run_id,
                result.events,
                result.facts,
                result.copied_live,
            )
            return result
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _REBUILD_LOCK)


async def _partitions(kafka: KafkaSettings, names: tuple[str, ...]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_kwargs(kafka), client_id="lsg-reporting-rebuild")
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    missing = [d["topic"] for d in described if d.get("error_code")]
    if missing:
        raise RuntimeError(f"cannot rebuild: topics {missing} are not available")
    return [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]


async def _rebuild(
    conn: Any, kafka: KafkaSettings, extractor: Extractor, batch: int, run_id: str, consumed: tuple[str, ...]
) -> RebuildResult:
    started = await conn.fetchval("SELECT now()")
    await conn.execute("DROP TABLE IF EXISTS fact_rebuild")
    await conn.execute("CREATE TABLE fact_rebuild (LIKE fact INCLUDING DEFAULTS)")
    consumer = AIOKafkaConsumer(
        **client_kwargs(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    events = facts = skipped = 0
    try:
        partitions = await _partitions(kafka, consumed)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        seen: set[tuple[str, str]] = set()
        while pending:
            got = await consumer.getmany(*pending, timeout_ms=1000, max_records=batch)
            fresh = []
            for tp, records in got.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
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
                await repo.insert_facts(conn, rows, table="fact_rebuild")
            facts += len(rows)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    await conn.execute("CREATE INDEX ON fact_rebuild (code, corr_key)")
    async with conn.transaction():
        await conn.execute("LOCK TABLE fact IN EXCLUSIVE MODE")
        copied = await conn.fetchval(
            """
            WITH moved AS (
                INSERT INTO fact_rebuild SELECT * FROM fact f WHERE f.recorded_at >= $1 AND NOT EXISTS (
                    SELECT 1 FROM fact_rebuild n WHERE n.source = f.source AND n.event_id = f.event_id)
                RETURNING 1)
            SELECT count(*) FROM moved
            """,
            started,
        )
        await conn.execute("ALTER TABLE fact RENAME TO fact_retired")
        await conn.execute("ALTER TABLE fact_rebuild RENAME TO fact")
        await conn.execute("DROP TABLE fact_retired")
        await conn.execute("ALTER INDEX IF EXISTS fact_rebuild_code_corr_key_idx RENAME TO fact_code_key")
        await conn.execute(
            "INSERT INTO dirty_indicator (code) SELECT code FROM indicator "
            "ON CONFLICT (code) DO UPDATE SET version = dirty_indicator.version + 1"
        )
    log.info("rebuild %s: %d events, %d facts, %d skipped, %d copied from live", run_id, events, facts, skipped, copied)
    return RebuildResult(run_id, events, facts, skipped, int(copied))
