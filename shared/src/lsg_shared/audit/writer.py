"""Request rows written off the request's path: an in-memory buffer, batched writes, and retention.

:meth:`AuditWriter.add` appends a tuple to the buffer; a background task writes it in one batched statement every
``flush_interval_s`` or as soon as ``batch_size`` rows wait, and once more at shutdown. While PostgreSQL is
unreachable rows wait in memory up to ``buffer_max``; beyond that they are counted in
``lsg_audit_rows_dropped_total``. The same task prunes rows older than ``retention_days`` every few hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import asyncpg
from prometheus_client import Counter

from lsg_shared import metrics
from lsg_shared.audit import store

log = logging.getLogger("lsg_shared.audit")  # one logger for the whole audit package, as before it was split

ROWS_WRITTEN = Counter(
    "lsg_audit_rows_written", "Audit rows written to PostgreSQL", ["service"], registry=metrics.registry
)
ROWS_DROPPED = Counter(
    "lsg_audit_rows_dropped",
    "Audit rows dropped: the in-memory buffer was full (PostgreSQL unreachable) or a row was unwritable",
    ["service", "reason"],
    registry=metrics.registry,
)

_UNWRITABLE = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


class AuditWriter:
    """Buffers request rows in memory and writes them in batches, off the request's path."""

    def __init__(
        self,
        service: str,
        *,
        flush_interval_s: float = 0.5,
        batch_size: int = 500,
        buffer_max: int = 50_000,
        retention_days: int = 400,
        prune_every_s: float = 6 * 3600,
        identity_retention_days: int | None = None,
    ) -> None:
        self.service = service
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.buffer_max = buffer_max
        self.retention_days = retention_days
        self.prune_every_s = prune_every_s
        # None: identities are kept as long as the rows (the behaviour before issue 30).
        self.identity_retention_days = identity_retention_days
        self.rows: list[tuple[Any, ...]] = []
        self.last_error: str | None = None
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._stopping = False
        self._quiet_until = 0.0

    def add(self, row: tuple[Any, ...]) -> None:
        """O(1), never blocks, never raises: what the request path pays."""
        if len(self.rows) >= self.buffer_max:
            ROWS_DROPPED.labels(self.service, "buffer_full").inc()
            return
        self.rows.append(row)
        if len(self.rows) >= self.batch_size and self._wake is not None:
            self._wake.set()

    def start(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._stopping = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-audit-writer")

    async def stop(self) -> None:
        """Write what is buffered (the final flush) and stop the background task."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()
        if self.rows:
            log.error("audit log: %d row(s) could not be written before shutdown (%s)", len(self.rows), self.last_error)
        self._pool = None

    async def _run(self) -> None:
        assert self._wake is not None
        next_prune = time.monotonic() + 60
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
                if time.monotonic() >= next_prune and self._pool is not None:
                    next_prune = time.monotonic() + self.prune_every_s
                    async with self._pool.acquire() as conn:
                        pruned = await store.prune(conn, self.retention_days)
                        anonymised = 0
                        if self.identity_retention_days is not None:
                            anonymised = await store.anonymise(conn, self.identity_retention_days)
                    if pruned:
                        log.info("audit log: pruned %d row(s) older than %d days", pruned, self.retention_days)
                    if anonymised:
                        log.info(
                            "audit log: anonymised %d row(s) older than %d days",
                            anonymised,
                            self.identity_retention_days,
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the writer die: the next round tries again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("audit log: %s", self.last_error)

    async def flush(self) -> int:
        """Write the buffered rows now (one statement per batch). Returns how many were written."""
        if self._pool is None or self._lock is None or not self.rows:
            return 0
        async with self._lock:
            rows, self.rows = self.rows, []
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await store.insert_many(conn, rows)
            except Exception as exc:
                written = await self._one_by_one(rows, exc)
            else:
                written = len(rows)
                self.last_error = None
        if written:
            ROWS_WRITTEN.labels(self.service).inc(written)
        return written

    async def _one_by_one(self, rows: list[tuple[Any, ...]], first: Exception) -> int:
        """A batch failed: drop only rows PostgreSQL refuses as data; keep the rest for the next round."""
        self.last_error = f"{type(first).__name__}: {first}"
        written = 0
        assert self._pool is not None
        for index, row in enumerate(rows):
            try:
                async with self._pool.acquire() as conn:
                    await store.insert(conn, row)
                written += 1
            except _UNWRITABLE as exc:
                ROWS_DROPPED.labels(self.service, "unwritable").inc()
                log.warning("audit log: dropped an unwritable row (%s: %s)", type(exc).__name__, exc)
            except Exception as exc:
                # PostgreSQL unreachable (or the table not migrated yet): keep the rest, oldest first.
                self.rows = (rows[index:] + self.rows)[: self.buffer_max]
                if time.monotonic() >= self._quiet_until:  # one line per 30 s while it lasts, not one per flush
                    self._quiet_until = time.monotonic() + 30
                    log.warning("audit log: %d row(s) wait for PostgreSQL (%s)", len(self.rows), type(exc).__name__)
                break
        return written
