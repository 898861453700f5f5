"""The consumer of ``person.erasure_requested`` that every service holding personal data registers.

One consumer group per service (``<service>-privacy``) on the privacy topic: the inbox claim and the service's
erasure run in one transaction and the offset is committed after (the shared consumer); a bad record goes to
``lsg.privacy.requests.v1.dlq``. The confirmations (``person.erasure_completed``) travel on the same topic and
are skipped. The service's ``erase`` does the work and emits its confirmation through ``tx.emit``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from lsg_events import EVENT_TYPES, CloudEvent
from lsg_events.privacy import PersonErasureCompleted, PersonErasureRequested
from lsg_events.topics import PRIVACY
from lsg_shared.consumer import EventConsumer, subscribe
from lsg_shared.db import Conn
from lsg_shared.runtime import Runtime
from lsg_shared.uow import Transaction

Erase = Callable[[Transaction, PersonErasureRequested], Awaitable[None]]


def subscribe_erasure_requests(rt: Runtime, service: str, erase: Erase, *, description: str) -> EventConsumer:
    """Register ``erase`` for this service's erasure requests; returns the consumer."""
    group = f"{service}-privacy"

    async def handle(conn: Conn, event: CloudEvent) -> None:
        if isinstance(event.data, PersonErasureRequested):
            await erase(Transaction(rt.uow, conn), event.data)

    consumer = EventConsumer(
        name=group,
        pool=lambda: rt.pool,
        publish=rt.publish_raw,
        registry=EVENT_TYPES,
        handle=handle,
        retries=rt.settings.consumer_retries,
        backoff_s=rt.settings.consumer_retry_backoff_s,
    )
    subscribe(rt.broker, consumer, PRIVACY, group_id=group, title=group, description=description)
    return consumer


async def confirm(tx: Transaction, service: str, request_id: str, counts: Mapping[str, int]) -> None:
    """Emit the service's ``person.erasure_completed`` (counts only, never who) in the erasure's transaction."""
    await tx.emit(
        PersonErasureCompleted(
            request_id=request_id, service=service, completed_at=datetime.now(UTC), erased=dict(counts)
        )
    )
