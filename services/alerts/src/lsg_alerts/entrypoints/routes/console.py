"""The operator console: one HTML page with its static assets (``lsg_alerts/static``, no build step, no CDN), in
the reporting dashboard's look, and the JSON reads it needs.

The page itself holds no data and is open; everything it shows comes from bearer-token reads (the token typed
into the page, kept in the tab's session storage): ``GET /v1/console/alerts`` (ETag, 304 when unchanged),
``GET /v1/console/map``, ``GET /v1/devices``, and ``GET /v1/console/stream`` (Server-Sent Events: one
``change`` event whenever the console's stamp changes). Acknowledge and resolve are the API's own
``POST /v1/alerts/{id}/acknowledge|resolve``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from lsg_alerts.application import console
from lsg_alerts.application.lifecycle import now
from lsg_alerts.entrypoints.dependencies import Uow
from lsg_shared.deps import Viewer
from lsg_shared.problems import not_found

PUBLIC_ROUTES = ("GET /console",)  # the page and its assets carry no data; its reads need a token
router = APIRouter(tags=["operator console"])

ASSETS = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STREAM_CHECK_S = 1.0  # how often the stream compares the stamp (one cheap indexed query)
STREAM_KEEPALIVE_S = 15.0  # a comment line, so proxies do not close an idle stream


@lru_cache(maxsize=8)
def _read(name: str) -> bytes:
    return resources.files("lsg_alerts").joinpath("static", name).read_bytes()


@router.get("/console", response_class=HTMLResponse, summary="Operator console (HTML)")
async def page() -> HTMLResponse:
    return HTMLResponse(_read("console.html"), headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/console/", include_in_schema=False)
async def page_slash() -> RedirectResponse:
    return RedirectResponse("/console", status_code=308)


@router.get("/console/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise not_found("console asset", name)
    return Response(_read(name), media_type=media_type, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def _etag(stamp: str) -> str:
    return '"' + hashlib.sha256(stamp.encode()).hexdigest()[:32] + '"'


@router.get(
    "/v1/console/alerts",
    summary="Open alerts, worst first, with time to escalation, who was notified and who acknowledged",
    responses={304: {"description": "Unchanged since the ETag given in If-None-Match"}},
)
async def open_alerts(principal: Viewer, request: Request, uow: Uow) -> Response:
    stamp = await console.stamp(uow)
    tag = _etag(stamp)
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag, "Cache-Control": "no-cache"})
    body = await console.open_alerts(
        uow,
        request.app.state.box,
        now(),
        with_names=principal.has("editor"),
        residency=request.app.state.residency,
    )
    # The ETag of the stamp read with the items (the snapshot's own), so a change between the two reads is
    # not hidden behind an old tag.
    return JSONResponse(body, headers={"ETag": _etag(body["stamp"]), "Cache-Control": "no-cache"})


@router.get("/v1/console/map", summary="Settlements with registered coordinates and their open alerts")
async def settlement_map(_: Viewer, uow: Uow) -> dict[str, Any]:
    return await console.settlements(uow)


# Not in the OpenAPI document: an event stream is not a request/response operation (it answers for up to
# ``max_s``; the API fuzz would wait on every example). Its token check is the same Viewer dependency; the
# console's component test asserts the 401.
@router.get("/v1/console/stream", include_in_schema=False)
async def stream(
    _: Viewer,
    request: Request,
    uow: Uow,
    max_s: Annotated[float, Query(gt=0, le=3600, description="Close after this long (the client reconnects)")] = 300,
) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        ends = time.monotonic() + max_s
        last: str | None = None
        quiet_since = time.monotonic()
        yield f"retry: {int(STREAM_CHECK_S * 2000)}\n\n"
        while time.monotonic() < ends and not await request.is_disconnected():
            current: str | None
            try:
                current = await console.stamp(uow)
            except Exception:  # the database restarting: the stream stays, the page keeps what it shows
                current = last
            if current != last:
                last = current
                quiet_since = time.monotonic()
                yield f"event: change\ndata: {json.dumps({'etag': _etag(current or '')})}\n\n"
            elif time.monotonic() - quiet_since > STREAM_KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(STREAM_CHECK_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
