"""/v1/campaigns/{campaign_id}/webhooks/kobo: submissions posted by a KoboToolbox REST service as they arrive.

Kobo REST services post each new submission as JSON, with HTTP basic authentication or custom headers if set
(they sign nothing). The endpoint takes the campaign's own secret either as the ``X-LSG-Webhook-Secret`` custom
header or as the basic-auth password (any user name); it is the only credential of the route, so the route is
listed in `SIGNED_ROUTES` rather than requiring a bearer role.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from lsg_shared.deps import Admin
from lsg_shared.openapi import REPEAT
from lsg_surveys.application import webhooks
from lsg_surveys.entrypoints.dependencies import Definitions, Pseudo, Uow
from lsg_surveys.entrypoints.schemas import ResponseStored, WebhookSecretOut

router = APIRouter(prefix="/v1", tags=["imports"])

SECRET_HEADER = "X-LSG-Webhook-Secret"  # noqa: S105 - a header name, not a secret
SIGNED_ROUTES = frozenset({"POST /v1/campaigns/{campaign_id}/webhooks/kobo"})


def presented_secret(request: Request) -> str | None:
    header = request.headers.get(SECRET_HEADER)
    if header:
        return header.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


@router.post("/campaigns/{campaign_id}/webhooks/kobo/secret", status_code=201, response_model=WebhookSecretOut)
async def new_webhook_secret(
    campaign_id: str, principal: Admin, uow: Uow, definitions: Definitions
) -> WebhookSecretOut:
    """A new secret for the campaign's Kobo webhook (the previous one stops working). Shown once."""
    secret = await webhooks.new_secret(uow, definitions, campaign_id, principal)
    return WebhookSecretOut(
        campaign_id=campaign_id,
        secret=secret,
        url=f"/v1/campaigns/{campaign_id}/webhooks/kobo",
        header=SECRET_HEADER,
    )


@router.post(
    "/campaigns/{campaign_id}/webhooks/kobo",
    status_code=201,
    response_model=ResponseStored,
    responses={**REPEAT, 401: {"description": "missing or wrong webhook secret"}},
)
async def kobo_webhook(
    campaign_id: str,
    request: Request,
    uow: Uow,
    definitions: Definitions,
    pseudo: Pseudo,
    payload: Annotated[Any, Body(description="One Kobo submission, as a Kobo REST service posts it (JSON)")],
) -> JSONResponse:
    """One KoboToolbox submission: 201 recorded, 200 duplicate (a retry) or corrected (`meta/deprecatedID`);
    422 with the row's errors when it does not fit the campaign's mapping."""
    report = await webhooks.receive(uow, definitions, pseudo, campaign_id, presented_secret(request), payload)
    body = ResponseStored(response_id=report.response_id or "", status=report.status)
    return JSONResponse(body.model_dump(), status_code=201 if report.status == "recorded" else 200)
