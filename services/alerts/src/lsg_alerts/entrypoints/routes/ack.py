"""Acknowledge from the message: the signed, single-use, expiring link every notification carries.

``GET`` shows a confirmation page in the contact's language (mail scanners that prefetch links change nothing);
``POST`` acknowledges, naming the contact and the channel in ``alert.acknowledged``. A forged link answers 403,
an expired or already used one 410, an alert no longer waiting for acknowledgement 409: each a page that says
so, and nothing changes. The token is the credential: these routes take no bearer token.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lsg_alerts.application import notifications
from lsg_alerts.application.notifications import LinkAnswer, LinkOutcome
from lsg_alerts.domain.notify import PAGES
from lsg_shared.uow import UnitOfWork

PUBLIC_ROUTES = ("GET /v1/ack/{token}", "POST /v1/ack/{token}")

router = APIRouter(prefix="/v1/ack", tags=["acknowledge from the message"])

_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The confirmation page (GET) or the acknowledgement done (POST)", **_HTML},
    403: {"description": "A forged link: nothing changed", **_HTML},
    409: {"description": "The alert is already acknowledged or closed: nothing changed", **_HTML},
    410: {"description": "An expired or already used link: nothing changed", **_HTML},
}
_STATUS = {
    LinkOutcome.SHOW: 200,
    LinkOutcome.ACKNOWLEDGED: 200,
    LinkOutcome.FORGED: 403,
    LinkOutcome.EXPIRED: 410,
    LinkOutcome.USED: 410,
    LinkOutcome.CLOSED: 409,
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2733}"
    "button{font-size:1.2rem;padding:.7rem 1.6rem;background:#a4343a;color:#fff;border:0;border-radius:.3rem}"
)


def _page(answer: LinkAnswer, token: str) -> HTMLResponse:
    t = PAGES[answer.language]
    title_values = {"title": html.escape(answer.title), "area": html.escape(answer.area)}
    if answer.outcome is LinkOutcome.SHOW:
        heading = t["confirm_title"]
        body = (
            f"<p>{t['confirm'].format(**title_values)}</p>"
            f'<form method="post" action="/v1/ack/{html.escape(token, quote=True)}">'
            f'<button type="submit">{t["button"]}</button></form>'
        )
    elif answer.outcome is LinkOutcome.ACKNOWLEDGED:
        heading, body = t["done_title"], f"<p>{t['done']}</p>"
    else:
        key = {"forged": "forged", "expired": "expired", "used": "used", "closed": "closed"}[answer.outcome.value]
        heading, body = t["refused_title"], f'<p class="refused" data-reason="{answer.outcome.value}">{t[key]}</p>'
    document = (
        f'<!doctype html><html lang="{answer.language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{heading}</title><style>{_STYLE}</style></head><body><h1>{heading}</h1>{body}</body></html>"
    )
    return HTMLResponse(
        document,
        status_code=_STATUS[answer.outcome],
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def document_pages(document: dict[str, Any]) -> dict[str, Any]:
    """The shared OpenAPI post-processing documents every 4xx as a problem; these routes answer pages."""
    for method in ("get", "post"):
        operation = document.get("paths", {}).get("/v1/ack/{token}", {}).get(method)
        if operation is None:
            continue
        for status in ("403", "409", "410"):
            operation["responses"][status]["content"] = dict(_HTML["content"])
    return document


def _uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.app.state.uow
    return uow


@router.get("/{token}", response_class=HTMLResponse, responses=_RESPONSES, summary="The confirmation page")
async def show(token: str, request: Request) -> HTMLResponse:
    key: bytes = request.app.state.ack_key
    return _page(await notifications.open_link(_uow(request), key, token, acknowledge=False), token)


@router.post("/{token}", response_class=HTMLResponse, responses=_RESPONSES, summary="Acknowledge the alert")
async def acknowledge(token: str, request: Request) -> HTMLResponse:
    key: bytes = request.app.state.ack_key
    return _page(await notifications.open_link(_uow(request), key, token, acknowledge=True), token)
