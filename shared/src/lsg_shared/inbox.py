"""Idempotent consumer: an event's identity is claimed in the same transaction as its effect.

CloudEvents says ``source`` + ``id`` is unique, and an outbox relay may publish a row twice (it publishes,
then marks sent; a crash in between repeats the publish). Claiming ``(consumer, source, id)`` with
``ON CONFLICT DO NOTHING`` inside the effect's transaction makes a redelivery a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsg_events.envelope import CloudEvent
from lsg_shared.db import Conn


async def claim(conn: Conn, consumer: str, event: CloudEvent) -> bool:
    """True when this event is new for `consumer` (and is now recorded); False for a duplicate."""
    row = await conn.fetchval(
        """
        INSERT INTO lsg_inbox (consumer, source, event_id, event_type) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING RETURNING 1
        """,
        consumer,
        event.source,
        event.id,
        event.type,
    )
    return row is not None


async def claim_many(conn: Conn, consumer: str, events: Sequence[CloudEvent]) -> list[CloudEvent]:
    """Claim a batch in one statement; returns the events that were new, in their original order.

    Duplicates inside the batch itself are collapsed too (the first occurrence wins).
    """
    if not events:
        return []
    rows = await conn.fetch(
        """
        INSERT INTO lsg_inbox (consumer, source, event_id, event_type)
        SELECT $1, s, i, t FROM unnest($2::text[], $3::text[], $4::text[]) AS u(s, i, t)
        ON CONFLICT DO NOTHING RETURNING source, event_id
        """,
        consumer,
        [e.source for e in events],
        [e.id for e in events],
        [e.type for e in events],
    )
    fresh = {(r["source"], r["event_id"]) for r in rows}
    out: list[CloudEvent] = []
    for event in events:
        ident = (event.source, event.id)
        if ident in fresh:
            fresh.discard(ident)
            out.append(event)
    return out
