"""Health and operations endpoints every service serves: liveness, readiness, metrics, AsyncAPI.

Readiness: PostgreSQL reachable with every migration applied, Kafka reachable, and the outbox relay task alive.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lsg_shared import metrics, migrate
from lsg_shared.runtime import Runtime


def health_router(rt: Runtime, *, title: str, version: str) -> APIRouter:
    broker = rt.broker
    all_migrations = rt.migrations
    health = APIRouter(tags=["operations"])

    @health.get("/health/live", summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @health.get("/health/ready", summary="Readiness: Kafka and PostgreSQL reachable, migrations applied")
    async def ready() -> JSONResponse:
        checks = await readiness(rt, all_migrations)
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @health.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @health.get("/asyncapi.json", summary="AsyncAPI 3.0 document of this service's topics", include_in_schema=True)
    async def asyncapi_json() -> Response:
        return Response(asyncapi(broker, title, version).to_json(), media_type="application/json")

    @health.get("/asyncapi", summary="AsyncAPI documentation page", response_class=HTMLResponse)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(asyncapi(broker, title, version), try_it_out_path=None))

    return health


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
