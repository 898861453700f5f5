"""The reporting consumer: every stream's events into indicator facts, exactly once (one consumer group).

The shared consumer (`lsg_shared.consumer`) with the reporting batch path: while a chunk is decoded its facts
are extracted (`FactBatch`), so a record the rules reject is dead-lettered at once and the rest of its chunk
is applied set-based (`Aggregator.ingest`: inbox claim, facts, dirty marks and area names in one statement).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lsg_events import EVENT_TYPES, CloudEvent
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
    """The shared consumer with the reporting service's batch path."""

    def __init__(self, *args: Any, aggregator: Aggregator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aggregator = aggregator

    def new_batch(self) -> FactBatch:
        return FactBatch(self.aggregator.extractor)

    async def apply_batch(self, conn: Conn, batch: Batch) -> Mapping[str, int]:
        assert isinstance(batch, FactBatch)
        return await self.aggregator.ingest(conn, self.name, batch.events, batch.facts)


def subscribe_aggregator(
    rt: Runtime, settings: ReportingSettings, aggregator: Aggregator, publisher: FigurePublisher
) -> ReportingConsumer:
    """Subscribe the reporting consumer to every stream on the runtime's broker."""
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
    )
    publisher.busy = lambda: consumer.busy  # runs wait while the consumer catches up on a backlog
    subscribe(
        rt.broker,
        consumer,
        *CONSUMED_TOPICS,
        group_id=settings.consumer_group,
        batch=True,
        max_records=settings.consumer_max_records,
        group_instance_id=settings.consumer_instance_id,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        title="reporting-aggregator",
        description="Every stream's events into indicator facts (exactly-once effect)",
    )
    return consumer
