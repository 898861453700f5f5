"""The reporting consumer: every stream's events into indicator facts, exactly once (one consumer group).

The shared consumer (`lsg_shared.consumer`) with the reporting batch path: records are decoded by the fast
path (`adapters.fast_decode`: only the fields the feeds read, the full contract for anything it does not
take), and while a chunk is decoded its facts are extracted (`FactBatch`), so a record the rules reject is
dead-lettered at once and the rest of its chunk is applied set-based (`Aggregator.ingest`: inbox claim,
facts, dirty marks and area names in one statement).

One subscriber per topic, all in the one consumer group (docs/reliability.md, finding 2): while one topic's
failing event is retried with backoff, the other topics' partitions go on. Each has its own
`ReportingConsumer` (its own back-off state), under the group's name (the inbox and the metrics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lsg_events import EVENT_TYPES, CloudEvent
from lsg_reporting.adapters import fast_decode
from lsg_reporting.application.aggregation import CONSUMED_TOPICS, Aggregator
from lsg_reporting.application.figures import FigurePublisher
from lsg_reporting.domain.rules import Extractor
from lsg_reporting.settings import ReportingSettings
from lsg_shared.consumer import Batch, EventConsumer, Record, subscribe
from lsg_shared.db import Conn
from lsg_shared.runtime import Runtime


class FactBatch(Batch):
    """A chunk of records as the reporting consumer prepares it while decoding: facts extracted already.

    An event the rules reject (a Likert value outside 1-5) raises PoisonMessage from `add` and is
    dead-lettered alone; a second copy of an event inside the chunk is kept for the inbox (it counts as a
    duplicate) but contributes no facts.
    """

    __slots__ = ("extractor", "facts", "ids")

    def __init__(self, extractor: Extractor) -> None:
        super().__init__()
        self.extractor = extractor
        self.facts: list[tuple[Any, ...]] = []  # as postgres.ingest takes them (times as timestamps)
        self.ids: set[tuple[str, str]] = set()

    def add(self, record: Record, event: CloudEvent) -> None:
        ident = (event.source, event.id)
        if ident not in self.ids:
            facts = self.facts
            before = len(facts)
            try:
                self.extractor.extend(facts, event, epoch=True)
            except BaseException:
                del facts[before:]
                raise
            self.ids.add(ident)
        super().add(record, event)


class ReportingConsumer(EventConsumer):
    """The shared consumer with the reporting service's batch path and fast decoder."""

    def __init__(
        self, *args: Any, aggregator: Aggregator, fast: fast_decode.FastDecoder | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.aggregator = aggregator
        self.fast = (
            fast
            if fast is not None
            else fast_decode.for_extractor(self.registry, aggregator.extractor, CONSUMED_TOPICS)
        )

    def decode(self, record: Record) -> CloudEvent:
        event = self.fast.decode(record.value, record.headers)
        return event if event is not None else super().decode(record)

    def new_batch(self) -> FactBatch:
        return FactBatch(self.aggregator.extractor)

    async def apply_batch(self, conn: Conn, batch: Batch) -> Mapping[str, int]:
        assert isinstance(batch, FactBatch)
        return await self.aggregator.ingest(conn, self.name, batch.events, batch.facts)


def subscribe_aggregator(
    rt: Runtime, settings: ReportingSettings, aggregator: Aggregator, publisher: FigurePublisher
) -> list[ReportingConsumer]:
    """Subscribe the reporting consumer to every stream on the runtime's broker: one subscriber per topic,
    in one consumer group."""
    fast = fast_decode.for_extractor(EVENT_TYPES, aggregator.extractor, CONSUMED_TOPICS)
    consumers: list[ReportingConsumer] = []
    for topic in CONSUMED_TOPICS:
        consumer = ReportingConsumer(
            name=settings.consumer_group,
            pool=lambda: rt.pool,
            publish=rt.publish_raw,
            registry=EVENT_TYPES,
            handle=aggregator.handle,
            retries=settings.consumer_retries,
            backoff_s=settings.consumer_retry_backoff_s,
            chunk_size=settings.consumer_chunk_records,
            aggregator=aggregator,
            fast=fast,
        )
        consumers.append(consumer)
        instance = settings.consumer_instance_id
        subscribe(
            rt.broker,
            consumer,
            topic,
            group_id=settings.consumer_group,
            batch=True,
            max_records=settings.consumer_max_records,
            # Static membership per member: four members of one process must not fence each other.
            group_instance_id=f"{instance}-{topic}" if instance else None,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            title=f"reporting-aggregator-{topic}",
            description=f"{topic}: events into indicator facts (exactly-once effect)",
        )
    # runs wait while any of them catches up on a backlog
    publisher.busy = lambda: any(c.busy for c in consumers)
    return consumers
