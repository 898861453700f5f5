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


# The columns `encode` fills, in order: what a repository that writes its outbox row inside a larger statement
# (a data-modifying CTE, one round trip for the whole change) inserts.
COLUMNS = ("event_id", "event_type", "topic", "key", "value", "headers")
OutboxRow = tuple[str, str, str, bytes, bytes, str]

_INSERT = f"""
WITH stored AS (
    INSERT INTO lsg_outbox ({", ".join(COLUMNS)})
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::text[]::jsonb[])
    ON CONFLICT (event_id) DO NOTHING
)
SELECT pg_notify($7, '')
"""


def encode(*events: CloudEvent) -> list[OutboxRow]:
    """The outbox rows of `events`: key, value, CloudEvents headers and the current W3C trace context."""
    trace_headers: dict[str, str] = {}
    propagate.inject(trace_headers)  # the request's trace continues into the consumers
    rows = []
    for event in events:
        key, value, headers = event.to_kafka()
        # Encoded here and cast from text, so it works on any connection (with or without a jsonb codec).
        rows.append((event.id, event.type, event.topic, key, value, json.dumps({**headers, **trace_headers})))
    return rows


async def enqueue(conn: Conn, *events: CloudEvent) -> None:
    """Store events for publication, in the caller's transaction, and wake the relay (one round trip)."""
    if not events:
        return
    rows = encode(*events)
    # One statement for the rows and the notification (delivered when the caller's transaction commits);
    # unnest keeps the order of `events`, so they get increasing `seq` and are published in that order.
    await conn.execute(_INSERT, *(list(column) for column in zip(*rows, strict=True)), CHANNEL)


class OutboxRelay:
    """Publishes pending outbox rows. Run `run()` as a task; `stop()` drains and ends it.

    Woken by ``NOTIFY`` (polling every `poll_interval_s` only as a fallback). Its queries run on the connection
    that listens, held for the relay's life, so a batch costs four round trips (begin, lock and read, mark,
    commit) and no pool acquire and reset."""

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
        self._conn_lock = asyncio.Lock()  # one batch at a time on the listening connection
        self._on_notify = lambda *_: self._wake.set()
        self._delay: dict[str, Any] = {}  # event type -> labelled OUTBOX_PUBLISH_DELAY child
        self._led = True  # whether the last round held the relay lock
        self.following = False  # another replica's relay is active: poll only, ignore notifications
        self.rounds_without_lock = 0
        self.healthy = True
        self.last_error: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @staticmethod
    def _usable(conn: Conn | None) -> bool:
        # A pooled connection whose backend died (PostgreSQL restarted, network cut) is released by asyncpg, and
        # every later call on it -- is_closed() included -- raises InterfaceError instead of answering.
        if conn is None:
            return False
        try:
            return not conn.is_closed()
        except Exception:
            return False

    async def _listen(self) -> None:
        with contextlib.suppress(Exception):
            if not self._usable(self._listener):
                await self._drop_listener()
                listener: Conn = await self._pool.acquire()
                try:
                    await listener.add_listener(CHANNEL, self._on_notify)
                except BaseException:
                    await self._pool.release(listener)  # type: ignore[arg-type]
                    raise
                self._listener = listener

    async def _unlisten(self) -> None:
        if self._listener is not None:
            async with self._conn_lock:
                with contextlib.suppress(Exception):
                    await self._listener.remove_listener(CHANNEL, self._on_notify)
                with contextlib.suppress(Exception):
                    await self._pool.release(self._listener)  # type: ignore[arg-type]
                self._listener = None

    async def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            await self._listen()
            # Cleared before reading, not after: a row committed while this batch is published wakes the
            # next round at once instead of waiting for the poll interval.
            self._wake.clear()
            try:
                published = await self.publish_pending()
                failures = 0
                self.healthy = True
                self.last_error = None
                if published >= self._batch_size:
                    continue  # more may be waiting: no pause
                # Every replica hears every NOTIFY. Racing the active relay for the lock on each one costs a
                # transaction per replica per event for nothing, so a relay that lost the lock only polls; when
                # a poll wins the lock (the active relay is idle, stopped or dead) it answers notifications
                # again, and the next race leaves one of them polling.
                self.following = not self._led
                if self.following:
                    self.rounds_without_lock += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.healthy = False
                self.last_error = f"{type(exc).__name__}: {exc}"
                metrics.OUTBOX_PUBLISH_ERRORS.labels(self._service).inc()
                log.warning("outbox relay: publish failed (%s); retrying", self.last_error)
                # Whatever failed, start the next round on a fresh listening connection: a broken one would
                # otherwise stall the relay for good (and NOTIFYs on it are lost anyway).
                await self._drop_listener()
                self._wake.clear()
                await self._sleep(min(0.5 * 2 ** min(failures, 5), self._max_backoff))
                continue
            if self.following:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._poll)
            else:
                await self._sleep(self._poll)
        # Drain what is already committed before stopping, best effort.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.publish_pending(), timeout=5)
        await self._unlisten()

    async def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.remove_listener(CHANNEL, self._on_notify)
            with contextlib.suppress(Exception):
                await self._pool.release(listener)  # type: ignore[arg-type]

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        async with self._conn_lock:
            listener = self._listener
            if self._usable(listener):
                assert listener is not None
                return await self._publish_batch(listener)
        async with self._pool.acquire() as conn:
            return await self._publish_batch(conn)

    async def _publish_batch(self, conn: Conn) -> int:
        async with conn.transaction():
            # The lock (one active relay per database, so rows go out in order) and the read in one statement;
            # a relay that does not hold the lock reads nothing. The transaction only marks rows as sent, so
            # its commit need not wait for the WAL flush: a mark lost in a crash republishes those rows, which
            # consumers deduplicate, and the next batch is not held up by a slow fsync of the last one.
            found = await conn.fetch(
                """
                WITH relay AS MATERIALIZED (
                    SELECT pg_try_advisory_xact_lock($2) AS leader,
                           set_config('synchronous_commit', 'off', true) AS async_commit
                )
                SELECT relay.leader, o.* FROM relay LEFT JOIN LATERAL (
                    SELECT seq, event_type, topic, key, value, headers, created_at FROM lsg_outbox
                    WHERE relay.leader AND published_at IS NULL ORDER BY seq LIMIT $1
                ) AS o ON true
                """,
                self._batch_size,
                _RELAY_LOCK_ID,
            )
            self._led = bool(found and found[0]["leader"])
            if not self._led:
                return 0  # another replica's relay is active
            rows = [r for r in found if r["seq"] is not None]
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
            child = self._delay.get(row["event_type"])
            if child is None:
                child = self._delay[row["event_type"]] = metrics.OUTBOX_PUBLISH_DELAY.labels(
                    self._service, row["event_type"]
                )
            child.observe(max((now - row["created_at"]).total_seconds(), 0.0))
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
        if len(rows) >= self._batch_size:
            backlog = await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL")
        else:
            backlog = len(rows)  # a batch that is not full holds every pending row: no count needed
        age = (datetime.now(UTC) - rows[0]["created_at"]).total_seconds() if rows else 0.0
        metrics.OUTBOX_BACKLOG.labels(self._service).set(backlog)
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(max(age, 0.0))


async def purge_published(pool: asyncpg.Pool, older_than_days: int = 7) -> int:
    """Delete rows published long ago (the topic is the record of what was sent)."""
    result: str = await pool.execute(
        "DELETE FROM lsg_outbox WHERE published_at < now() - make_interval(days => $1)", older_than_days
    )
    return int(result.split()[-1])
