"""The composition root every service builds on.

``build_app`` returns a FastAPI application whose lifespan connects PostgreSQL (applying migrations),
creates the registry's topics, starts the FastStream Kafka broker and the outbox relay, and stops them all
in order on shutdown. It serves ``/health/live``, ``/health/ready`` (Kafka reachable, PostgreSQL reachable,
migrations applied) and ``/metrics`` (``health.py``). Services add their routers, consumers and background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from lsg_events import ALL_EVENTS, topics
from lsg_shared import audit, db, migrate, openapi, problems, sampler
from lsg_shared.audit import AuditWriter
from lsg_shared.auth import registry_from_settings
from lsg_shared.health import health_router
from lsg_shared.http import BodyLimitMiddleware, MetricsMiddleware
from lsg_shared.inputs import InputGuardMiddleware
from lsg_shared.kafka import ensure_topics, make_broker
from lsg_shared.outbox import OutboxRelay
from lsg_shared.runtime import Runtime
from lsg_shared.settings import ServiceSettings
from lsg_shared.telemetry import setup_logging, setup_metrics, setup_tracing

log = logging.getLogger(__name__)

Hook = Callable[[Runtime], Awaitable[None]]


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable


async def _start_broker_when_possible(rt: Runtime) -> None:
    """Kafka may be down at start-up: keep trying, so HTTP writes (to the outbox) work meanwhile."""
    delay = 0.5
    while True:
        try:
            if rt.settings.kafka.create_topics:
                await ensure_topics(rt.settings.kafka, topics.TOPICS)
            await rt.broker.start()
            rt.broker_started = True
            log.info("kafka broker connected")
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("kafka not reachable yet (%s); retrying in %.1fs", exc, delay)
            with contextlib.suppress(Exception):
                await rt.broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


def build_app(
    *,
    name: str,
    package: str,
    settings: ServiceSettings,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    register_consumers: Callable[[Runtime], object] | None = None,
    on_startup: Sequence[Hook] = (),
    background: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    run_relay: bool = True,
    migrate_on_start: bool = True,
    create_database: bool = True,
    openapi_tags: list[dict[str, Any]] | None = None,
) -> FastAPI:
    """Assemble one service. Nothing connects until the app's lifespan starts."""
    tracer_provider = setup_tracing(name)
    meter_provider = setup_metrics(name)
    broker = make_broker(
        settings.kafka,
        client_id=name,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        description=description,
    )
    rt = Runtime(name=name, package=package, settings=settings, broker=broker, source=f"/lsg/{name}")
    audit.parse_networks(settings.trusted_proxies)  # a malformed LSG_TRUSTED_PROXIES fails here, not per request
    rt.audit = audit_writer = AuditWriter(
        name,
        flush_interval_s=settings.audit_flush_interval_s,
        batch_size=settings.audit_batch_size,
        buffer_max=settings.audit_buffer_max,
        retention_days=settings.audit_retention_days,
        identity_retention_days=settings.audit_identity_retention_days,
    )
    _document_publishers(broker, name)
    all_migrations = migrate.for_service(package)
    rt.migrations = all_migrations
    if register_consumers is not None:
        register_consumers(rt)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_logging(name, fmt=settings.log_format, level=settings.log_level)
        if create_database:
            await db.ensure_database(settings.database_url)
        rt._pool = await db.create_pool(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        if migrate_on_start:
            async with rt.pool.acquire() as conn:
                applied = await migrate.apply(conn, all_migrations)
            if applied:
                log.info("applied migrations: %s", [f"{m.component}:{m.version:04d}" for m in applied])
        audit_writer.start(rt.pool)
        for hook in on_startup:
            await hook(rt)
        rt.tasks.append(asyncio.create_task(_start_broker_when_possible(rt), name=f"{name}-broker-start"))
        if run_relay:
            rt.relay = OutboxRelay(
                rt.pool,
                broker.publish,
                service=name,
                batch_size=settings.outbox_batch_size,
                poll_interval_s=settings.outbox_poll_interval_s,
            )
            rt.tasks.append(asyncio.create_task(rt.relay.run(), name=f"{name}-outbox-relay"))
        rt.tasks.append(asyncio.create_task(sampler.run(rt), name=f"{name}-metrics-sampler"))
        for job in background:
            rt.tasks.append(
                asyncio.create_task(_as_coroutine(job(rt)), name=f"{name}-{getattr(job, '__name__', 'job')}")
            )
        try:
            yield
        finally:
            for hook in on_shutdown:
                with contextlib.suppress(Exception):
                    await hook(rt)
            # Let the relay drain what is committed (bounded), and cancel the endless tasks at once.
            relay_tasks = [t for t in rt.tasks if t.get_name().endswith("-outbox-relay")]
            if rt.relay is not None:
                await rt.relay.stop()
                await asyncio.wait(relay_tasks, timeout=6)
            for task in rt.tasks:
                if not task.done():
                    task.cancel()
            for task in rt.tasks:
                with contextlib.suppress(BaseException):
                    await task
            with contextlib.suppress(Exception):
                await broker.stop()
            rt.broker_started = False
            await audit_writer.stop()  # the final flush: requests have stopped arriving by now
            await rt.pool.close()
            rt._pool = None

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        docs_url=None,  # served by health.py with local assets (no CDN)
        redoc_url=None,  # ReDoc has no pinned offline bundle here; /docs covers the same document
    )
    app.state.runtime = rt
    app.state.tokens = registry_from_settings(settings)
    app.state.audit = audit_writer
    problems.install(app)
    openapi.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(InputGuardMiddleware)
    # Outside the body limit, so a 413 is audited too.
    app.add_middleware(audit.AuditMiddleware, writer=audit_writer, trusted_proxies=settings.trusted_proxies)
    app.add_middleware(MetricsMiddleware, service=name)

    app.include_router(health_router(rt, title=title, version=version))
    app.include_router(audit.router)
    for router in routers:
        app.include_router(router)
    # One server span per request is what operators read; the ASGI receive/send child spans add a span pair
    # per body chunk and measurably cost on the partner ingestion path.
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        excluded_urls="health/live,health/ready,metrics",
        exclude_spans=["receive", "send"],
    )
    return app


def _document_publishers(broker: KafkaBroker, service: str) -> None:
    """Declare what this service emits (through its outbox) so its AsyncAPI page shows every event type."""
    for model in ALL_EVENTS:
        spec = topics.TOPICS_BY_NAME[model.topic]
        if service in spec.producers:
            broker.publisher(
                model.topic,
                title=f"{model.topic}:{model.event_type}",
                description=f"{model.description} CloudEvents type `{model.event_type}`, key {model.key_field}.",
                schema=model,
            )
