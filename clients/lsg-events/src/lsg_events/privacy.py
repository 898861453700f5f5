"""Privacy stream: one erasure request fanned out to every service that holds personal data, and each service's
confirmation.

A request never names the person. It carries **subject tokens**: keyed hashes (HMAC-SHA-256 under the suite's
shared ``LSG_PRIVACY_SUBJECT_KEY``) of the person's normalised identifiers (e-mail, phone, registration number,
name with country), so each service can find the person among what it holds without the request revealing who
it is; and, where the operator knows them, the service-local ids (a training participant id). A confirmation
carries counts only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from lsg_events import topics
from lsg_events.base import EventData

SUBJECT_TOKEN = r"^ps_[0-9a-f]{64}$"  # noqa: S105 (a pattern, not a secret)


class PersonErasureRequested(EventData):
    event_type: ClassVar[str] = "lv.lsg.person.erasure_requested.v1"
    topic: ClassVar[str] = topics.PRIVACY
    key_field: ClassVar[str] = "request_id"
    description: ClassVar[str] = (
        "An operator asked to erase a person's personal data in every service (GDPR art. 17; 152-FZ art. 21)."
    )

    request_id: str = Field(min_length=1, max_length=64, description="Chosen by the requester; one per request")
    requested_at: datetime
    subject_tokens: list[Annotated[str, Field(pattern=SUBJECT_TOKEN)]] = Field(
        default_factory=list,
        description=(
            "Keyed hashes of the person's normalised identifiers (lsg_shared.privacy.subject_tokens), never the"
            " identifiers themselves"
        ),
    )
    local_ids: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per service, the service's own ids of the person (e.g. training: participant ids)",
    )


class PersonErasureCompleted(EventData):
    event_type: ClassVar[str] = "lv.lsg.person.erasure_completed.v1"
    topic: ClassVar[str] = topics.PRIVACY
    key_field: ClassVar[str] = "request_id"
    description: ClassVar[str] = "A service erased what it held about the person of an erasure request (counts only)."

    request_id: str = Field(min_length=1, max_length=64)
    service: str
    completed_at: datetime
    erased: dict[str, int] = Field(
        default_factory=dict, description="Per category of data, how many records were erased or anonymised"
    )
