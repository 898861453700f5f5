"""The suite's public CAP feed (no token): an Atom feed of the public alerts as CAP 1.2, and each message.

Aggregators poll it: the answer carries an ``ETag`` (a hash of what the entries say) and ``Cache-Control``; a
poll with a matching ``If-None-Match`` gets ``304`` without the feed being rendered."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lsg_alerts.application import publication
from lsg_alerts.domain import publication as rules
from lsg_alerts.entrypoints.dependencies import Settings, Uow

PUBLIC_READS = ("GET /v1/cap/feed.atom", "GET /v1/cap/alerts/{alert_id}.xml")

router = APIRouter(prefix="/v1/cap", tags=["public CAP feed"])


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _cache(settings: Settings) -> str:
    return f"public, max-age={settings.cap_feed_max_age_s}"


@router.get(
    "/feed.atom",
    summary="The public alerts (Actual, scope Public, from publishing partners) as a CAP 1.2 Atom feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}, 304: {"description": "Not modified"}},
)
async def cap_feed(request: Request, uow: Uow, settings: Settings) -> Response:
    alerts = await publication.public_alerts(uow, settings)
    tag = rules.etag(alerts)
    headers = {"ETag": tag, "Cache-Control": _cache(settings), "Vary": "Accept-Encoding"}
    wanted = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    if tag in wanted or f"W/{tag}" in wanted:
        return Response(status_code=304, headers=headers)
    body = publication.feed(alerts, settings, _base_url(request))
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)


@router.get(
    "/alerts/{alert_id}.xml",
    summary="The suite's current CAP 1.2 message about one public alert (Alert, Update or Cancel)",
    response_class=Response,
    responses={200: {"content": {"application/cap+xml": {}}}},
)
async def cap_alert(alert_id: str, uow: Uow, settings: Settings) -> Response:
    body = await publication.alert_document(uow, settings, alert_id)
    return Response(body, media_type="application/cap+xml; charset=utf-8", headers={"Cache-Control": _cache(settings)})
