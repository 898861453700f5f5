"""What the training service consumes: ``person.erasure_requested`` on the privacy topic, through the shared
erasure-request consumer (``lsg_shared.privacy_requests``: its own group, inbox claim and erasure in one
transaction, offset committed after; a bad record goes to ``lsg.privacy.requests.v1.dlq``)."""

from __future__ import annotations

from lsg_events.privacy import PersonErasureRequested
from lsg_shared.consumer import EventConsumer
from lsg_shared.privacy_requests import subscribe_erasure_requests
from lsg_shared.runtime import Runtime
from lsg_shared.uow import Transaction
from lsg_training.application import privacy
from lsg_training.application.residency import residency_of
from lsg_training.settings import TrainingSettings

GROUP = "training-privacy"


def register(rt: Runtime) -> EventConsumer:
    settings = rt.settings
    assert isinstance(settings, TrainingSettings)

    async def erase(tx: Transaction, data: PersonErasureRequested) -> None:
        await privacy.erase(
            tx,
            residency_of(rt.uow),
            settings.subject_key(),
            request_id=data.request_id,
            requested="event",
            tokens=data.subject_tokens,
            local_ids=data.local_ids.get(privacy.SERVICE, []),
        )

    description = "person.erasure_requested: erase the person's personal data here and confirm"
    return subscribe_erasure_requests(rt, "training", erase, description=description)
