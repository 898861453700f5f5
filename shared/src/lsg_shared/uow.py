"""The unit of work use cases take: one connection, one transaction, and the outbox in it.

A use case writes its rows through the service's adapters on ``tx.conn`` and its events through ``tx.emit``;
both commit together or not at all, so a stored change is a published event whatever Kafka is doing (the
relay publishes the outbox later). Reads that need no transaction take ``uow.read()``.

Component tests hand a use case a ``UnitOfWork`` on a real PostgreSQL (or a subclass that records what was
emitted); nothing here knows about FastAPI or FastStream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from lsg_events.base import EventData
from lsg_events.envelope import CloudEvent
from lsg_shared.db import Conn
from lsg_shared.outbox import enqueue


class Transaction:
    """An open transaction: the connection the adapters use and the events to publish with it."""

    __slots__ = ("_uow", "conn", "emitted")

    def __init__(self, uow: UnitOfWork, conn: Conn) -> None:
        self._uow = uow
        self.conn = conn
        self.emitted: list[CloudEvent] = []

    async def emit(self, *events: EventData | CloudEvent, **envelope: Any) -> list[CloudEvent]:
        """Enqueue events in this transaction's outbox (event data is wrapped in this service's envelope)."""
        wrapped = [e if isinstance(e, CloudEvent) else self._uow.event(e, **envelope) for e in events]
        await enqueue(self.conn, *wrapped)
        self.emitted.extend(wrapped)
        return wrapped


class UnitOfWork:
    """Connection + transaction + outbox enqueue, bound to one service's pool and event source."""

    __slots__ = ("pool", "source")

    def __init__(self, pool: asyncpg.Pool, source: str) -> None:
        self.pool = pool
        self.source = source

    def event(self, data: EventData, **kwargs: Any) -> CloudEvent:
        """A CloudEvent from this service (``source`` is the service's URI reference)."""
        return CloudEvent(data=data, source=self.source, **kwargs)

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        """A transaction: everything written and emitted inside commits together, or nothing does."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield Transaction(self, conn)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A connection for reads (each statement its own snapshot; use ``begin`` for a consistent one)."""
        async with self.pool.acquire() as conn:
            yield conn
