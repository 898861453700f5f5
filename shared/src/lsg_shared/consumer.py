"""Reliable consumption: decode, deduplicate, apply, commit; dead-letter what cannot be processed.

The rules every consumer of the suite follows:

* The effect and the inbox record of an event are written in one PostgreSQL transaction; a redelivered
  event is a no-op (see ``inbox``).
* The offset is committed only after that transaction (FastStream ``AckPolicy.NACK_ON_ERROR``: the
  handler returning commits; an exception seeks back to the record, so it is delivered again).
* A record that can never succeed (bad headers, unknown type, invalid data, a domain rejection) goes to
  ``<topic>.dlq`` at once; an unexpected handler error is retried with backoff, then dead-lettered. Either
  way the consumer goes on with the next record.
* When PostgreSQL or Kafka itself is unavailable, nothing is dead-lettered and nothing is committed: the
  record is handed back and tried again after a growing pause, until the infrastructure returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from lsg_events.base import EventData
from lsg_events.envelope import CloudEvent, PoisonMessage, from_kafka
from lsg_shared import dlq, inbox, metrics
from lsg_shared.db import Conn

log = logging.getLogger(__name__)

Handler = Callable[[Conn, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[Conn, Sequence[CloudEvent]], Awaitable[None]]
PoolProvider = Callable[[], asyncpg.Pool]

# Errors that mean "the infrastructure is away", never "this record is bad".
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NotLeaderForPartitionError,
)


class Record(Protocol):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class InfrastructureUnavailable(Exception):
    """Raised to hand a record back to Kafka uncommitted (FastStream then seeks back to it)."""


@dataclass
class EventConsumer:
    """One logical consumer (one consumer group) and how it applies events.

    `handle` applies one event inside the given transaction's connection; `handle_batch`, when given,
    applies many at once (set-based) and is preferred for batch subscriptions.
    """

    name: str
    pool: PoolProvider
    publish: dlq.Publish
    registry: Mapping[str, type[EventData]]
    handle: Handler
    handle_batch: BatchHandler | None = None
    retries: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    _stall: int = field(default=0, init=False)

    # ---- single record -------------------------------------------------------------------------------
    async def process(self, record: Record) -> None:
        try:
            event = from_kafka(record.value, record.headers, self.registry)
        except PoisonMessage as exc:
            await self._dead_letter(record, exc.reason, exc.detail, attempts=1)
            return
        await self._apply_with_retries(record, event)

    async def _apply_with_retries(self, record: Record, event: CloudEvent) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._apply_one(event)
                self._stall = 0
                return
            except PoisonMessage as exc:
                await self._dead_letter(record, exc.reason, exc.detail, attempts=attempt, event=event)
                return
            except INFRASTRUCTURE_ERRORS as exc:
                await self._hand_back(exc)
            except Exception as exc:
                if attempt > self.retries:
                    log.exception("handler failed %d times; dead-lettering", attempt)
                    await self._dead_letter(
                        record, "handler-error", f"{type(exc).__name__}: {exc}", attempts=attempt, event=event
                    )
                    return
                metrics.EVENTS_RETRIED.labels(self.name).inc()
                await asyncio.sleep(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))

    async def _apply_one(self, event: CloudEvent) -> None:
        async with self.pool().acquire() as conn, conn.transaction():
            if not await inbox.claim(conn, self.name, event):
                metrics.EVENTS_CONSUMED.labels(self.name, event.type, "duplicate").inc()
                return
            await self.handle(conn, event)
        metrics.EVENTS_CONSUMED.labels(self.name, event.type, "processed").inc()

    # ---- batch ---------------------------------------------------------------------------------------
    async def process_batch(self, records: Sequence[Record]) -> None:
        decoded: list[tuple[Record, CloudEvent]] = []
        poison: list[tuple[Record, PoisonMessage]] = []
        for record in records:
            try:
                decoded.append((record, from_kafka(record.value, record.headers, self.registry)))
            except PoisonMessage as exc:
                poison.append((record, exc))
        if decoded:
            try:
                await self._apply_batch([e for _, e in decoded])
                self._stall = 0
            except INFRASTRUCTURE_ERRORS as exc:
                await self._hand_back(exc)
            except Exception:
                # One bad event must not sink the batch: apply them one by one to isolate it.
                log.warning("batch of %d failed; applying one by one", len(decoded), exc_info=True)
                for record, event in decoded:
                    await self._apply_with_retries(record, event)
        for record, bad in poison:
            await self._dead_letter(record, bad.reason, bad.detail, attempts=1)

    async def _apply_batch(self, events: Sequence[CloudEvent]) -> None:
        async with self.pool().acquire() as conn, conn.transaction():
            fresh = await inbox.claim_many(conn, self.name, events)
            if fresh:
                if self.handle_batch is not None:
                    await self.handle_batch(conn, fresh)
                else:
                    for event in fresh:
                        await self.handle(conn, event)
        fresh_ids = {id(e) for e in fresh}
        for event in events:
            outcome = "processed" if id(event) in fresh_ids else "duplicate"
            metrics.EVENTS_CONSUMED.labels(self.name, event.type, outcome).inc()

    # ---- failure paths -------------------------------------------------------------------------------
    async def _hand_back(self, exc: BaseException) -> None:
        self._stall += 1
        metrics.CONSUMER_STALLS.labels(self.name).inc()
        pause = min(self.backoff_s * 2 ** min(self._stall, 10), self.max_backoff_s)
        log.warning("%s: infrastructure unavailable (%s); retrying in %.1fs", self.name, exc, pause)
        await asyncio.sleep(pause)
        raise InfrastructureUnavailable(str(exc)) from exc

    async def _dead_letter(
        self, record: Record, reason: str, detail: str, *, attempts: int, event: CloudEvent | None = None
    ) -> None:
        letter = dlq.DeadLetter(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=list(record.headers or ()),
            reason=reason,
            error=detail,
            consumer=self.name,
            attempts=attempts,
        )
        try:
            await dlq.send(self.publish, letter)
        except INFRASTRUCTURE_ERRORS as exc:
            await self._hand_back(exc)
        metrics.DEAD_LETTERS.labels(self.name, record.topic, reason).inc()
        metrics.EVENTS_CONSUMED.labels(self.name, event.type if event else "unknown", "dead_lettered").inc()
        log.warning("dead-lettered %s[%d]@%d: %s: %s", record.topic, record.partition, record.offset, reason, detail)


async def _raw_body(message: Any) -> Any:
    return message.body


def subscribe(
    broker: KafkaBroker,
    consumer: EventConsumer,
    *topics: str,
    group_id: str | None = None,
    batch: bool = False,
    max_records: int = 500,
    title: str | None = None,
    description: str | None = None,
    **kwargs: Any,
) -> Any:
    """Register `consumer` on `broker` for `topics` with commit-after-effect semantics.

    The handler receives the raw record (not a decoded body) so that a malformed record is dead-lettered by
    our code instead of failing inside the framework's decoder, where it would be retried forever.
    """
    options: dict[str, Any] = {
        "group_id": group_id or consumer.name,
        # Keep the body as bytes: our code decodes it, so a malformed body is dead-lettered instead of
        # failing inside the framework's JSON decoder (which would be retried forever).
        "decoder": _raw_body,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "title": title,
        "description": description,
        **kwargs,
    }
    if batch:
        options.update(batch=True, max_records=max_records)

        @broker.subscriber(*topics, **options)  # type: ignore[untyped-decorator]
        async def on_batch(message: KafkaMessage) -> None:
            raw = message.raw_message
            await consumer.process_batch(raw if isinstance(raw, tuple) else (raw,))

        return on_batch

    @broker.subscriber(*topics, **options)  # type: ignore[untyped-decorator]
    async def on_record(message: KafkaMessage) -> None:
        raw = message.raw_message
        assert not isinstance(raw, tuple)
        await consumer.process(raw)

    return on_record
