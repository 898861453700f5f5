"""What a running service holds (settings, broker, pool, relay, tasks) and the FastAPI dependency that reaches it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import Request
from faststream.kafka import KafkaBroker

from lsg_events.base import EventData
from lsg_events.envelope import CloudEvent
from lsg_shared import migrate
from lsg_shared.audit import AuditWriter
from lsg_shared.outbox import OutboxRelay
from lsg_shared.settings import ServiceSettings
from lsg_shared.uow import UnitOfWork


@dataclass
class Runtime:
    """What a running service holds: settings, broker, pool, relay. Routes reach it via `runtime(request)`."""

    name: str
    package: str
    settings: ServiceSettings
    broker: KafkaBroker
    source: str
    _pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    broker_started: bool = False
    migrations: list[migrate.Migration] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    audit: AuditWriter | None = None
    _uow: UnitOfWork | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet")
        return self._pool

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work use cases take: this service's pool and event source (one per open pool)."""
        pool = self.pool
        if self._uow is None or self._uow.pool is not pool:
            self._uow = UnitOfWork(pool, self.source)
        return self._uow

    def event(self, data: EventData, **kwargs: Any) -> CloudEvent:
        """A CloudEvent from this service (``source`` is the service's URI reference)."""
        return CloudEvent(data=data, source=self.source, **kwargs)

    async def publish_raw(self, value: bytes, *, topic: str, key: bytes | None, headers: dict[str, str]) -> Any:
        return await self.broker.publish(value, topic=topic, key=key, headers=headers)


async def runtime(request: Request) -> Runtime:
    """FastAPI dependency: the service's runtime (async: a plain function would cost a thread hop per request)."""
    rt: Runtime = request.app.state.runtime
    return rt
