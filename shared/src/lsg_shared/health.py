"""Health and operations endpoints every service serves: liveness, readiness, metrics, AsyncAPI.

Readiness: PostgreSQL reachable with every migration applied, Kafka reachable, and the outbox relay task alive.
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lsg_shared import asyncapi_page, metrics, migrate
from lsg_shared.problems import Problem
from lsg_shared.runtime import Runtime


def health_router(rt: Runtime, *, title: str, version: str) -> APIRouter:
    broker = rt.broker
    all_migrations = rt.migrations
    health = APIRouter(tags=["operations"])

    @health.get("/health/live", summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @health.get(
        "/health/ready",
        summary="Readiness: Kafka and PostgreSQL reachable, migrations applied",
        responses={
            200: {"description": "Ready: every check ok", "content": {"application/json": {"schema": _READY}}},
            503: {
                "description": "Not ready: the checks say which part",
                "content": {"application/json": {"schema": _READY}},
            },
        },
    )
    async def ready() -> JSONResponse:
        checks = await readiness(rt, all_migrations)
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @health.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @health.get(
        "/asyncapi.json",
        summary="AsyncAPI 3.0 document of this service's topics",
        responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    async def asyncapi_json() -> Response:
        return Response(asyncapi(broker, title, version).to_json(), media_type="application/json")

    @health.get("/asyncapi", summary="AsyncAPI documentation page", response_class=HTMLResponse)
    async def asyncapi_html() -> HTMLResponse:
        # Rendered here, not by a viewer script from a CDN: municipal networks often cannot reach one.
        return HTMLResponse(asyncapi_page.render(asyncapi(broker, title, version).to_jsonable()))

    @health.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} — API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @health.get("/docs/assets/{name}", include_in_schema=False)
    async def swagger_asset(name: str) -> Response:
        asset = _SWAGGER_ASSETS.get(name)
        if asset is None:
            raise Problem(404, "Not found", f"No documentation asset {name!r}.", type_="not-found")
        return Response(_asset(name), media_type=asset, headers={"Cache-Control": "public, max-age=86400"})

    return health


_READY: dict[str, Any] = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}, "checks": {"type": "object"}},
    "required": ["status", "checks"],
}
_READY_CONTENT = {"application/json": {"schema": _READY}}

# Swagger UI from the pinned `fastapi-swagger` package (its bundled distribution), served by the service itself:
# FastAPI's default page loads it from a public CDN.
_SWAGGER_ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@functools.cache
def _asset(name: str) -> bytes:
    return importlib.resources.files("fastapi_swagger.resources").joinpath(name).read_bytes()


def asyncapi(broker: KafkaBroker, title: str, version: str) -> Any:
    return AsyncAPI(broker, title=title, version=version, schema_version="3.0.0").to_specification()


async def readiness(rt: Runtime, all_migrations: list[migrate.Migration]) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        if rt._pool is None:
            raise RuntimeError("pool not open")
        async with rt.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
            missing = await migrate.pending(conn, all_migrations)
        checks["postgres"] = {"ok": True}
        checks["migrations"] = {"ok": not missing, "pending": [f"{m.component}:{m.version:04d}" for m in missing]}
    except Exception as exc:
        checks["postgres"] = {"ok": False, "error": type(exc).__name__}
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
    kafka_ok = False
    if rt.broker_started:
        try:
            kafka_ok = bool(await rt.broker.ping(timeout=2))
        except Exception:
            kafka_ok = False
    checks["kafka"] = {"ok": kafka_ok}
    if rt.relay is not None:
        # A relay that cannot publish (Kafka down) is no reason to stop taking requests -- the outbox holds them;
        # a relay task that has ended is: nothing written from now on would ever be published.
        task = next((t for t in rt.tasks if t.get_name().endswith("-outbox-relay")), None)
        running = task is not None and not task.done()
        checks["outbox_relay"] = {
            "ok": running,
            "running": running,
            "publishing": rt.relay.healthy,
            "last_error": rt.relay.last_error,
        }
    return checks
