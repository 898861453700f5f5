"""Replies with a code, from an SMS or e-mail gateway: ``POST /v1/replies`` (no bearer token: the gateway signs
the body with the partner doors' HMAC scheme and ``LSG_REPLY_GATEWAY_SECRET``).

``{"from": "+37120000000", "text": "K7QX3M"}`` acknowledges the alert whose message to that address or number
carried the code (200). A malformed text answers 422, an unknown code (or one sent to somebody else) 404, an
expired or used code 410, an alert no longer waiting 409: each a problem document naming why; nothing changes.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, ValidationError

from lsg_alerts.application import replies
from lsg_alerts.application.lifecycle import now
from lsg_alerts.application.replies import ReplyOutcome
from lsg_alerts.domain import signing
from lsg_alerts.entrypoints.dependencies import Settings, Uow
from lsg_shared.inputs import RequestModel
from lsg_shared.problems import Problem, invalid, invalid_field

PUBLIC_ROUTES = ("POST /v1/replies",)

router = APIRouter(prefix="/v1/replies", tags=["acknowledge from the message"])


class ReplyIn(RequestModel):
    sender: str = Field(
        alias="from", min_length=3, max_length=254, description="The e-mail address or phone number replying"
    )
    text: str = Field(min_length=1, max_length=2000, description="The reply; its first word is the code")


_PROBLEMS: dict[ReplyOutcome, tuple[int, str, str]] = {
    ReplyOutcome.UNKNOWN: (404, "Unknown reply code", "No message with this code was sent to this address or number."),
    ReplyOutcome.EXPIRED: (410, "Reply code expired", "This code has expired; acknowledge by telephone."),
    ReplyOutcome.USED: (410, "Reply code already used", "This code (or the message's link) was already used."),
    ReplyOutcome.CLOSED: (409, "Alert no longer waiting", "The alert is already acknowledged, resolved or cancelled."),
}


@router.post(
    "",
    summary="A reply with the message's code acknowledges the alert (for SMS and e-mail gateways)",
    responses={
        200: {"description": "Acknowledged: the alert, the contact and the channel"},
        401: {"description": "Missing or wrong gateway signature, or no gateway secret configured"},
        404: {"description": "No message with this code went to this sender"},
        409: {"description": "The alert is no longer waiting for acknowledgement"},
        410: {"description": "The code expired or was used"},
        422: {"description": "The body is not a reply, or its text does not start with a code"},
    },
)
async def reply(request: Request, uow: Uow, settings: Settings) -> dict[str, Any]:
    secret = settings.reply_gateway_secret
    if secret is None:
        # No secret: no gateway can authenticate, so every reply is refused as unauthenticated (not a 5xx: the
        # service works, this door is closed).
        raise Problem(
            401,
            "Unauthorized",
            "Replies are not configured here (LSG_REPLY_GATEWAY_SECRET is not set).",
            type_="not-configured",
        )
    body = await request.body()
    try:
        signing.verify(
            secrets=[secret.get_secret_value()],
            timestamp_header=request.headers.get("x-lsg-timestamp"),
            signature_header=request.headers.get("x-lsg-signature"),
            body=body,
            reference_time=time.time(),
            tolerance_s=settings.signature_tolerance_s,
        )
    except signing.SignatureProblem as problem:
        raise Problem(
            401,
            "Unauthorized",
            str(problem),
            type_="bad-signature",
            errors=[{"field": f"header:{problem.field}", "message": problem.message}],
        ) from None
    try:
        parsed = ReplyIn.model_validate_json(body)
    except ValidationError as exc:
        raise invalid(
            [{"field": "body:" + ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        ) from None
    answer = await replies.acknowledge_by_reply(
        uow,
        request.app.state.box,
        parsed.sender,
        parsed.text,
        now(),
        settings.ack_link_ttl_s,
        request.app.state.residency,
    )
    if answer.outcome is ReplyOutcome.MALFORMED:
        raise invalid_field("body:text", "must start with the 6-character code from the message")
    if answer.outcome is not ReplyOutcome.ACKNOWLEDGED:
        status, title, detail = _PROBLEMS[answer.outcome]
        raise Problem(status, title, detail, type_=f"reply-code-{answer.outcome.value}")
    return {
        "outcome": answer.outcome.value,
        "alert_id": answer.alert_id,
        "contact_id": answer.contact_id,
        "channel": answer.channel,
    }
