"""Aggregation: consumed events into facts (and the names of the areas they mention), exactly once.

Two paths write the same facts. The consumer's batch path (`ingest`) applies a chunk with one statement: inbox
claim, facts, dirty marks and area names (the facts were extracted while the chunk was decoded). The one-by-one
path (`handle`, in the inbox claim's transaction) is the shared consumer's default and the naive benchmark's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsg_events import CloudEvent, topics
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.domain.rules import Extractor
from lsg_shared.db import Conn

CONSUMED_TOPICS = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)


@dataclass
class Aggregator:
    """Applies events to the facts, remembering which areas it has recorded already."""

    extractor: Extractor
    _areas_seen: set[tuple[str, str]] = field(default_factory=set)

    async def handle_batch(self, conn: Conn, events: Sequence[CloudEvent]) -> None:
        facts = self.extractor.facts(events)
        await pg.insert_facts(conn, facts)
        await pg.mark_dirty(conn, {f.code for f in facts})
        await self.record_areas(conn, events)

    async def handle(self, conn: Conn, event: CloudEvent) -> None:
        await self.handle_batch(conn, [event])

    async def ingest(
        self, conn: Conn, consumer: str, events: Sequence[CloudEvent], facts: Sequence[tuple[Any, ...]]
    ) -> Mapping[str, int]:
        """Apply a decoded chunk set-based in one transaction (`facts` extracted with ``epoch=True``, each
        event once); returns how many events of each type were new."""
        areas = self.new_areas(events)
        columns = ([e.source for e in events], [e.id for e in events], [e.data.event_type for e in events])
        fresh = await pg.ingest(conn, consumer, columns, facts, areas)
        self.areas_recorded(areas)
        return fresh

    def new_areas(self, events: Sequence[CloudEvent]) -> list[tuple[str, str, str | None, str]]:
        seen = self._areas_seen
        places = []
        for event in events:
            place = getattr(event.data, "place", None)
            if place is None:
                continue
            # A place whose deepest unit is recorded has every unit above it recorded too (they are recorded
            # together): one set lookup instead of a walk down the levels, for nearly every event.
            if place.settlement is not None:
                deepest = ("settlement", place.settlement.code)
            elif place.territory is not None:
                deepest = ("territory", place.territory.code)
            elif place.municipality is not None:
                deepest = ("municipality", place.municipality.code)
            else:
                continue
            if deepest not in seen:
                places.append(place)
        return pg.area_rows(places, seen) if places else []

    def areas_recorded(self, rows: Sequence[tuple[str, str, str | None, str]]) -> None:
        self._areas_seen.update((r[0], r[1]) for r in rows)

    async def record_areas(self, conn: Conn, events: Sequence[CloudEvent]) -> None:
        rows = self.new_areas(events)
        if rows:
            await pg.upsert_areas(conn, rows)
            self.areas_recorded(rows)
