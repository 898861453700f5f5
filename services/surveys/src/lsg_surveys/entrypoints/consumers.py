"""What the surveys service consumes: ``person.erasure_requested`` on the privacy topic (its own group, inbox
claim and erasure in one transaction, offset committed after; a bad record goes to ``lsg.privacy.requests.v1.dlq``)."""

from __future__ import annotations

from lsg_events import EVENT_TYPES, CloudEvent
from lsg_events.privacy import PersonErasureRequested
from lsg_events.topics import PRIVACY
from lsg_shared.consumer import EventConsumer, subscribe
from lsg_shared.db import Conn
from lsg_shared.runtime import Runtime
from lsg_shared.uow import Transaction
from lsg_surveys.application import privacy
from lsg_surveys.application.residency import residency_of
from lsg_surveys.settings import SurveysSettings

GROUP = "surveys-privacy"


def register(rt: Runtime) -> EventConsumer:
    settings = rt.settings
    assert isinstance(settings, SurveysSettings)

    async def handle(conn: Conn, event: CloudEvent) -> None:
        data = event.data
        if not isinstance(data, PersonErasureRequested):
            return  # the confirmations travel on the same topic
        uow = rt.uow
        await privacy.erase(
            Transaction(uow, conn),
            residency_of(uow),
            settings.subject_key(),
            request_id=data.request_id,
            requested="event",
            tokens=data.subject_tokens,
            local_ids=data.local_ids.get(privacy.SERVICE, []),
        )

    consumer = EventConsumer(
        name=GROUP,
        pool=lambda: rt.pool,
        publish=rt.publish_raw,
        registry=EVENT_TYPES,
        handle=handle,
        retries=settings.consumer_retries,
        backoff_s=settings.consumer_retry_backoff_s,
    )
    subscribe(
        rt.broker,
        consumer,
        PRIVACY,
        group_id=GROUP,
        title="surveys-privacy",
        description="person.erasure_requested: erase the respondent's personal data here and confirm",
    )
    return consumer
