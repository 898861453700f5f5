"""Transactional outbox: an event is written in the business transaction, then a relay publishes it.

``enqueue`` inserts the encoded record (key, value, CloudEvents headers, and the caller's W3C trace context)
into ``lsg_outbox`` on the caller's connection, inside the caller's transaction, and notifies the relay.
The relay publishes pending rows in order with ``acks=all`` and idempotence on, then marks them sent. A
crash between publish and mark repeats the publish; consumers deduplicate by CloudEvents ``source``+``id``.
One relay per database is active at a time (a PostgreSQL advisory lock), which keeps the order of rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import propagate

from lsg_events.envelope import CloudEvent
from lsg_shared import metrics
from lsg_shared.db import Conn

log = logging.getLogger(__name__)

CHANNEL = "lsg_outbox"
_RELAY_LOCK_ID = 0x15_65_0002
PublishFuture = Callable[..., Awaitable[Any]]


async def enqueue(conn: Conn, *events: CloudEvent) -> None:
    """Store events for publication, in the caller's transaction."""
    if not events:
        return
    trace_headers: dict[str, str] = {}
    propagate.inject(trace_headers)  # the request's trace continues into the consumers
    rows = []
    for event in events:
        key, value, headers = event.to_kafka()
        # Encoded here and cast from text, so it works on any connection (with or without a jsonb codec).
        rows.append((event.id, event.type, event.topic, key, value, json.dumps({**headers, **trace_headers})))
    await conn.executemany(
        """
        INSERT INTO lsg_outbox (event_id, event_type, topic, key, value, headers)
        VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
        ON CONFLICT (event_id) DO NOTHING
        """,
        rows,
    )
    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)


class OutboxRelay:
    """Publishes pending outbox rows. Run `run()` as a task; `stop()` drains and ends it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: PublishFuture,
        *,
        service: str,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 10.0,
    ) -> None:
        self._pool = pool
        self._publish = publish
        self._service = service
        self._batch_size = batch_size
        self._poll = poll_interval_s
        self._max_backoff = max_backoff_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listener: Conn | None = None
        self._on_notify = lambda *_: self._wake.set()
        self.healthy = True
        self.last_error: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _listen(self) -> None:
        with contextlib.suppress(Exception):
            if self._listener is None or self._listener.is_closed():
                listener: Conn = await self._pool.acquire()
                await listener.add_listener(CHANNEL, self._on_notify)
                self._listener = listener

    async def _unlisten(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(CHANNEL, self._on_notify)
            with contextlib.suppress(Exception):
                await self._pool.release(self._listener)  # type: ignore[arg-type]
            self._listener = None

    async def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            await self._listen()
            try:
                published = await self.publish_pending()
                failures = 0
                self.healthy = True
                self.last_error = None
                if published >= self._batch_size:
                    continue  # more may be waiting: no pause
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.healthy = False
                self.last_error = f"{type(exc).__name__}: {exc}"
                metrics.OUTBOX_PUBLISH_ERRORS.labels(self._service).inc()
                log.warning("outbox relay: publish failed (%s); retrying", self.last_error)
                if self._listener is not None and self._listener.is_closed():
                    self._listener = None
                await self._sleep(min(0.5 * 2 ** min(failures, 5), self._max_backoff))
                continue
            await self._sleep(self._poll)
        # Drain what is already committed before stopping, best effort.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.publish_pending(), timeout=5)
        await self._unlisten()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK_ID):
                return 0  # another replica's relay is active
            rows = await conn.fetch(
                """
                SELECT seq, event_type, topic, key, value, headers, created_at FROM lsg_outbox
                WHERE published_at IS NULL ORDER BY seq LIMIT $1
                """,
                self._batch_size,
            )
            await self._update_gauges(conn, rows)
            if not rows:
                return 0
            try:
                await self._publish_rows(rows)
            except Exception as exc:
                await conn.execute(
                    "UPDATE lsg_outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                    rows[0]["seq"],
                    f"{type(exc).__name__}: {exc}"[:1000],
                )
                raise
            await conn.execute(
                "UPDATE lsg_outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL "
                "WHERE seq = ANY($1::bigint[])",
                [r["seq"] for r in rows],
            )
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        now = datetime.now(UTC)
        for row in rows:
            metrics.OUTBOX_PUBLISH_DELAY.labels(self._service, row["event_type"]).observe(
                max((now - row["created_at"]).total_seconds(), 0.0)
            )
        return len(rows)

    async def _publish_rows(self, rows: Sequence[asyncpg.Record]) -> None:
        futures = []
        for row in rows:
            stored = row["headers"]
            headers = dict(json.loads(stored) if isinstance(stored, str) else stored)
            carrier = {k: headers.pop(k) for k in ("traceparent", "tracestate") if k in headers}
            # Publish inside the stored trace context so the producer span joins the original request.
            token = otel_context.attach(propagate.extract(carrier)) if carrier else None
            try:
                futures.append(
                    await self._publish(
                        bytes(row["value"]),
                        topic=row["topic"],
                        key=bytes(row["key"]),
                        headers=headers,
                        no_confirm=True,
                    )
                )
            finally:
                if token is not None:
                    otel_context.detach(token)
        # Every record must be acknowledged by all in-sync replicas before the rows are marked sent.
        await asyncio.gather(*futures)

    async def _update_gauges(self, conn: Conn, rows: Sequence[asyncpg.Record]) -> None:
        if rows:
            backlog = await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL")
            age = (datetime.now(UTC) - rows[0]["created_at"]).total_seconds()
        else:
            backlog, age = 0, 0.0
        metrics.OUTBOX_BACKLOG.labels(self._service).set(backlog)
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(max(age, 0.0))


async def purge_published(pool: asyncpg.Pool, older_than_days: int = 7) -> int:
    """Delete rows published long ago (the topic is the record of what was sent)."""
    result: str = await pool.execute(
        "DELETE FROM lsg_outbox WHERE published_at < now() - make_interval(days => $1)", older_than_days
    )
    return int(result.split()[-1])
