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
import contextlib
import dataclasses
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate, trace

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


class Batch:
    """The events of one transaction, in record order, and what a consumer prepares for them while decoding.

    A consumer that does per-event work before its transaction (extracting rows, checking domain rules)
    subclasses this and overrides `add`: raising PoisonMessage there rejects that event alone (it is
    dead-lettered) and must leave the batch as it was.
    """

    __slots__ = ("events", "records")

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.events: list[CloudEvent] = []

    def __len__(self) -> int:
        return len(self.events)

    def add(self, record: Record, event: CloudEvent) -> None:
        self.records.append(record)
        self.events.append(event)


@dataclass
class EventConsumer:
    """One logical consumer (one consumer group) and how it applies events.

    `handle` applies one event inside the given transaction's connection; `handle_batch`, when given,
    applies many at once (set-based) and is preferred for batch subscriptions.

    Batch subscriptions: the records of a fetched batch are decoded and applied in chunks of `chunk_size`
    records, one transaction each, on one connection; decoding chunk N+1 overlaps chunk N's transaction
    (pipelining). The handler returns, and the offsets are committed, only after the last transaction has
    committed. Subclasses customise the batch path through two hooks: `new_batch` (per-event preparation
    while decoding, see `Batch`) and `apply_batch` (the transaction: inbox claim and effect).
    """

    name: str
    pool: PoolProvider
    publish: dlq.Publish
    # A consumer of a topic that does not carry CloudEvents (the partner door) overrides `process` and uses
    # `hand_back` and `dead_letter`; it needs neither a registry nor a handler.
    registry: Mapping[str, type[EventData]] = field(default_factory=dict)
    handle: Handler = field(default=None)  # type: ignore[assignment]
    handle_batch: BatchHandler | None = None
    retries: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    chunk_size: int = 1000
    _stall: int = field(default=0, init=False)
    _busy_until: float = field(default=0.0, init=False)

    @property
    def busy(self) -> bool:
        """True while the consumer is catching up (working on a fetched batch of at least `chunk_size`
        records, or done with one less than 2 s ago): background work that competes with it may wait."""
        return time.monotonic() < self._busy_until

    # ---- single record -------------------------------------------------------------------------------
    def decode(self, record: Record) -> CloudEvent:
        """The record as a CloudEvent, or PoisonMessage saying why not. A subclass may override it with a
        cheaper decoder that hands every record it does not take to this one (the reporting fast path)."""
        return from_kafka(record.value, record.headers, self.registry)

    async def process(self, record: Record) -> None:
        try:
            event = self.decode(record)
        except PoisonMessage as exc:
            await self._dead_letter(record, exc.reason, exc.detail, attempts=1)
            return
        await self._apply_with_retries(record, event)

    async def _apply_with_retries(self, record: Record, event: CloudEvent, conn: Conn | None = None) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._apply_one(event, conn)
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

    async def _apply_one(self, event: CloudEvent, conn: Conn | None = None) -> None:
        if conn is None:
            async with self.pool().acquire() as own:
                return await self._apply_one(event, own)
        async with conn.transaction():
            if not await inbox.claim(conn, self.name, event):
                metrics.EVENTS_CONSUMED.labels(self.name, event.type, "duplicate").inc()
                return
            await self.handle(conn, event)
        metrics.EVENTS_CONSUMED.labels(self.name, event.type, "processed").inc()

    # ---- batch: hooks --------------------------------------------------------------------------------
    def new_batch(self) -> Batch:
        """An empty batch for the next chunk of records (override to prepare per-event work while decoding)."""
        return Batch()

    async def apply_batch(self, conn: Conn, batch: Batch) -> Mapping[str, int]:
        """Apply `batch` in one transaction, inbox claim included; returns how many events of each type were new.

        The default claims the events with one statement and gives the new ones to `handle_batch` (or to
        `handle`, one by one).
        """
        async with conn.transaction():
            fresh = await inbox.claim_many(conn, self.name, batch.events)
            if fresh:
                if self.handle_batch is not None:
                    await self.handle_batch(conn, fresh)
                else:
                    for event in fresh:
                        await self.handle(conn, event)
        return Counter(e.type for e in fresh)

    # ---- batch: the pipeline -------------------------------------------------------------------------
    async def process_batch(self, records: Sequence[Record]) -> None:
        """Decode, apply and account for a fetched batch; returns once every effect is committed.

        Raises InfrastructureUnavailable (after a pause) when PostgreSQL or Kafka is away: nothing of the
        batch may be committed then, and Kafka delivers it again (the inbox makes the chunks that were
        already applied no-ops).
        """
        backlog = len(records) >= self.chunk_size
        if backlog:
            self._busy_until = math.inf  # until this batch is done, however long it takes
        try:
            await self._process_batch(records)
        finally:
            if backlog:
                self._busy_until = time.monotonic() + 2.0

    async def _process_batch(self, records: Sequence[Record]) -> None:
        poison: list[tuple[Record, PoisonMessage, CloudEvent | None]] = []
        suspects: list[tuple[Record, CloudEvent]] = []
        pool = self.pool()
        try:
            conn = await pool.acquire()
        except INFRASTRUCTURE_ERRORS as exc:
            await self._hand_back(exc)
        pending: asyncio.Future[None] | None = None
        try:
            size = max(1, self.chunk_size)
            for start in range(0, len(records), size):
                chunk = records[start : start + size]
                batch = await self._decode(chunk, poison, suspects, overlapping=pending is not None)
                if pending is not None:
                    waiting, pending = pending, None
                    await waiting
                if batch:
                    pending = asyncio.ensure_future(self._apply_chunk(conn, batch))
                    await asyncio.sleep(0)  # let it put its first statement on the wire, then decode on
            if pending is not None:
                waiting, pending = pending, None
                await waiting
            for record, suspect in suspects:
                await self._apply_with_retries(record, suspect, conn)
        finally:
            if pending is not None:  # failed while decoding: never leave a transaction running unobserved
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await pool.release(conn)
        for record, bad, event in poison:
            await self._dead_letter(record, bad.reason, bad.detail, attempts=1, event=event)

    async def _decode(
        self,
        records: Sequence[Record],
        poison: list[tuple[Record, PoisonMessage, CloudEvent | None]],
        suspects: list[tuple[Record, CloudEvent]],
        *,
        overlapping: bool,
    ) -> Batch:
        batch = self.new_batch()
        decode = self.decode
        for n, record in enumerate(records, 1):
            event = None
            try:
                event = decode(record)
                batch.add(record, event)
            except PoisonMessage as exc:
                poison.append((record, exc, event))
            except Exception as exc:
                if event is None:
                    poison.append((record, PoisonMessage("decode-error", f"{type(exc).__name__}: {exc}"), None))
                else:  # the preparation failed unexpectedly: the one-by-one path retries, then dead-letters
                    log.warning("preparing %s failed; applying it on its own", event.id, exc_info=True)
                    suspects.append((record, event))
            if overlapping and not n % 128:
                await asyncio.sleep(0)  # a transaction of several statements in flight: let it go on
        return batch

    async def _apply_chunk(self, conn: Conn, batch: Batch) -> None:
        try:
            fresh = await self.apply_batch(conn, batch)
            self._stall = 0
        except INFRASTRUCTURE_ERRORS as exc:
            await self._hand_back(exc)
        except Exception:
            # One bad event must not sink the batch: apply them one by one to isolate it.
            log.warning("batch of %d failed; applying one by one", len(batch), exc_info=True)
            for record, event in zip(batch.records, batch.events, strict=True):
                await self._apply_with_retries(record, event, conn)
            return
        seen = Counter(e.type for e in batch.events)
        for event_type, count in seen.items():
            new = fresh.get(event_type, 0)
            if new:
                metrics.EVENTS_CONSUMED.labels(self.name, event_type, "processed").inc(new)
            if count > new:
                metrics.EVENTS_CONSUMED.labels(self.name, event_type, "duplicate").inc(count - new)

    # ---- failure paths (public: subclasses with their own `process` use them) --------------------------
    async def hand_back(self, exc: BaseException) -> NoReturn:
        """PostgreSQL or Kafka away: pause (growing), then hand the record back to be fetched again."""
        await self._hand_back(exc)

    async def dead_letter(self, record: Record, reason: str, detail: str, *, attempts: int = 1) -> None:
        """Send the record to ``<topic>.dlq`` with the reason (and count it); the consumer goes on."""
        await self._dead_letter(record, reason, detail, attempts=attempts)

    def recovered(self) -> None:
        """A record was applied: the next infrastructure pause starts short again."""
        self._stall = 0

    async def _hand_back(self, exc: BaseException) -> NoReturn:
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


# Trace context headers (W3C): what FastStream's telemetry middleware reads from each record of a batch.
_TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})
_MAX_LINKS = 128  # OpenTelemetry's default span limit: a batch span keeps no more links than this


def _with_text_headers(record: Any) -> Any:
    """A copy of `record` whose header values are valid UTF-8 (for the framework's parser only)."""
    headers = [(k, v.decode("utf-8", "replace").encode() if isinstance(v, bytes) else v) for k, v in record.headers]
    return dataclasses.replace(record, headers=headers)


async def _parse_record(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """The framework's parser, except that a header that is not UTF-8 cannot make it fail.

    FastStream decodes every header; a failure there would hand the record back for ever instead of
    dead-lettering it. The handler still receives the record as it came (and `from_kafka` rejects it).
    """
    try:
        return await original(message)
    except UnicodeDecodeError:
        parsed = await original(_with_text_headers(message))
        parsed.raw_message = message
        return parsed


async def _parse_batch(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """The framework's batch parser without its per-record work.

    FastStream builds a dictionary of decoded headers for every record of a batch, which costs as much as
    decoding the record; our handler reads the raw records. The message is parsed from the first record
    only, then given the whole batch: the bodies, and the trace context of (up to `_MAX_LINKS`) records
    that carry one, for the batch span's links.
    """
    if not message:
        return await original(message)
    first, last = message[0], message[-1]
    try:
        parsed = await original((first,))
    except UnicodeDecodeError:
        parsed = await original((_with_text_headers(first),))
    contexts: list[dict[str, str]] = []
    for record in message:
        context = {k: v.decode("utf-8", "replace") for k, v in record.headers if k in _TRACE_HEADERS and v}
        if context:
            contexts.append(context)
            if len(contexts) >= _MAX_LINKS:
                break
    parsed.raw_message = message
    parsed.body = [record.value or b"" for record in message]
    parsed.batch_headers = contexts
    parsed.message_id = f"{first.offset}-{last.offset}-{first.timestamp}"
    return parsed


def continue_traces(records: Sequence[Any], started_ns: int, tracer: trace.Tracer) -> None:
    """One consumer span in the trace of each producer whose records this batch processed.

    A batch span cannot have many parents, so FastStream makes it a root with links to the producers; a
    trace viewer then shows a request's trace ending at the producer. This span (a child of the producer's
    context, linked to the batch span, covering the batch's processing, named for the record's topic) lets
    each request's trace show where its event was consumed. Only when spans are recorded (an exporter is
    configured): otherwise no work. At most `_MAX_LINKS` traces per batch, as for the batch span's links.
    """
    batch_span = trace.get_current_span()
    if not batch_span.is_recording():
        return
    seen: set[int] = set()
    link = [trace.Link(batch_span.get_span_context())]
    for record in records:
        headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ()) if k in _TRACE_HEADERS and v}
        if not headers:
            continue
        parent = propagate.extract(headers)
        context = trace.get_current_span(parent).get_span_context()
        if not context.is_valid or context.trace_id in seen:
            continue
        seen.add(context.trace_id)
        span = tracer.start_span(
            f"{record.topic} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            start_time=started_ns,
            links=link,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.kafka.message.offset": record.offset,
            },
        )
        span.end()
        if len(seen) >= _MAX_LINKS:
            return


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
        options.setdefault("parser", _parse_batch)

        tracer = getattr(broker, "lsg_tracer", None) or trace.get_tracer("lsg_shared.consumer")

        @broker.subscriber(*topics, **options)  # type: ignore[untyped-decorator]
        async def on_batch(message: KafkaMessage) -> None:
            raw = message.raw_message
            records = raw if isinstance(raw, tuple) else (raw,)
            started = time.time_ns()
            await consumer.process_batch(records)
            continue_traces(records, started, tracer)

        return on_batch

    options.setdefault("parser", _parse_record)

    @broker.subscriber(*topics, **options)  # type: ignore[untyped-decorator]
    async def on_record(message: KafkaMessage) -> None:
        raw = message.raw_message
        assert not isinstance(raw, tuple)
        await consumer.process(raw)

    return on_record
