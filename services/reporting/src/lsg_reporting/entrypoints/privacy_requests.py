"""What reporting consumes for privacy: ``person.erasure_requested`` on the privacy topic, through the shared
erasure-request consumer (``lsg_shared.privacy_requests``: group ``reporting-privacy``, inbox claim and erasure in
one transaction, offset committed after; a bad record goes to ``lsg.privacy.requests.v1.dlq``). Apart from the
aggregating consumer (``consumers.py``): a request is rare and must not wait behind a backlog of facts."""

from __future__ import annotations

from lsg_events.privacy import PersonErasureRequested
from lsg_reporting.application import privacy
from lsg_reporting.settings import ReportingSettings
from lsg_shared.consumer import EventConsumer
from lsg_shared.privacy_requests import subscribe_erasure_requests
from lsg_shared.runtime import Runtime
from lsg_shared.uow import Transaction


def register(rt: Runtime, settings: ReportingSettings) -> EventConsumer:
    async def erase(tx: Transaction, data: PersonErasureRequested) -> None:
        await privacy.erase(
            tx,
            settings.subject_key(),
            request_id=data.request_id,
            requested="event",
            tokens=data.subject_tokens,
            local_ids=data.local_ids.get(privacy.SERVICE, []),
        )

    description = "person.erasure_requested: replace the person's logins with a pseudonym here and confirm"
    return subscribe_erasure_requests(rt, privacy.SERVICE, erase, description=description)
