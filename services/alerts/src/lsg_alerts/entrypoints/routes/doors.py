"""The partner doors over HTTP (HMAC-signed, no bearer token) and the CAP validator (open to partners).

The alert door is the latency-critical path (docs/benchmarks.md): no FastAPI dependencies (a plain-function
dependency runs in the thread pool), nothing allocated that the answer does not need.

A database that cannot be reached is answered 503 with ``Retry-After`` (``doors.unavailable``), never 500: the
partner sends the same message again and it is accepted once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lsg_alerts.application import heartbeats
from lsg_alerts.application.doors import UNAVAILABLE, Accepted, Inbound, PartnerDoors, unavailable
from lsg_alerts.application.errors import Rejected
from lsg_alerts.domain import cap
from lsg_shared import audit
from lsg_shared.problems import Problem
from lsg_shared.uow import UnitOfWork

# Partner doors authenticate by HMAC signature; the validator is a public tool for partners.
PUBLIC_ROUTES = (
    "POST /v1/partners/{partner_id}/alerts",
    "POST /v1/partners/{partner_id}/heartbeats",
    "POST /v1/cap/validate",
)
CAP_MEDIA = ("application/cap+xml", "application/xml", "text/xml", "application/json", "application/cap+json")

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["partner doors"])

_CAP_BODY = {
    "requestBody": {
        "required": True,
        "description": "A CAP 1.2 alert as XML, or as JSON with the XML element names",
        "content": {
            "application/cap+xml": {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
_HEARTBEAT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A heartbeat: the lv.lsg.device.heartbeat.v1 data (device_id, partner_id, sent_at...)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _door(request: Request) -> tuple[UnitOfWork, PartnerDoors]:
    state = request.app.state
    return state.uow, state.doors


def _problem(rej: Rejected) -> Problem:
    headers = {"Retry-After": str(max(1, int(rej.retry_after + 0.999)))} if rej.retry_after else None
    if rej.status == 401:
        headers = {"WWW-Authenticate": 'LSG-HMAC realm="partners"'}
    return Problem(rej.status, rej.title, rej.detail, type_=rej.reason, errors=rej.errors, headers=headers)


def _unavailable(request: Request, partner_id: str, exc: BaseException) -> Problem:
    log.warning("partner door %s: database unavailable (%s); answered 503", request.url.path, type(exc).__name__)
    audit.identify_partner(request, partner_id, verified=False)
    return _problem(unavailable(exc))


def _inbound(request: Request, partner_id: str, body: bytes) -> Inbound:
    return Inbound(
        door="http",
        partner_id=partner_id,
        timestamp=request.headers.get("x-lsg-timestamp"),
        signature=request.headers.get("x-lsg-signature"),
        body=body,
        content_type=request.headers.get("content-type"),
        reference_time=time.time(),
    )


def _accepted(result: Accepted) -> JSONResponse:
    return JSONResponse(result.as_dict(), status_code=result.status)


@router.post(
    "/partners/{partner_id}/alerts",
    summary="A partner sends a signed CAP 1.2 alert (Alert, Update, Cancel...)",
    openapi_extra=_CAP_BODY,
    status_code=202,
    responses={
        200: {"description": "A repeat of an alert already received: nothing changed"},
        503: {"description": "The database cannot be reached: nothing was accepted; send it again after Retry-After"},
    },
)
async def partner_alert(partner_id: str, request: Request) -> JSONResponse:
    # An oversize body never gets here: the door's body limit (entrypoints/body_limit.py) answers first.
    uow, doors = _door(request)
    body = await request.body()
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media and media not in CAP_MEDIA:
        raise Problem(
            415,
            "Unsupported media type",
            f"Send one of: {', '.join(CAP_MEDIA)}.",
            type_="unsupported-media-type",
            errors=[{"field": "header:content-type", "message": f"{media!r} is not a CAP media type"}],
        )
    try:
        result = await doors.alert(uow, _inbound(request, partner_id, body))
    except Rejected as rej:
        audit.identify_partner(request, partner_id, verified=rej.status not in (401, 413))
        raise _problem(rej) from None
    except UNAVAILABLE as exc:
        raise _unavailable(request, partner_id, exc) from None
    audit.identify_partner(request, partner_id, verified=True)
    return _accepted(result)


@router.post(
    "/partners/{partner_id}/heartbeats",
    summary="A partner reports that a device is alive (battery, signal, tamper)",
    openapi_extra=_HEARTBEAT_BODY,
    status_code=202,
)
async def partner_heartbeat(partner_id: str, request: Request) -> JSONResponse:
    uow, doors = _door(request)
    body = await request.body()
    try:
        result = await heartbeats.receive(uow, doors, _inbound(request, partner_id, body))
    except Rejected as rej:
        audit.identify_partner(request, partner_id, verified=rej.status not in (401, 413))
        raise _problem(rej) from None
    except UNAVAILABLE as exc:
        raise _unavailable(request, partner_id, exc) from None
    audit.identify_partner(request, partner_id, verified=True)
    return _accepted(result)


@router.post(
    "/cap/validate",
    summary="Check a document against CAP 1.2 and list every problem with its path",
    openapi_extra=_CAP_BODY,
)
async def validate_cap(request: Request) -> dict[str, Any]:
    body = await request.body()
    content_type = request.headers.get("content-type")
    errors = cap.validate(body, content_type)
    return {
        "valid": not errors,
        "format": cap.detect_format(body, content_type),
        "errors": [e.as_dict() for e in errors],
    }
