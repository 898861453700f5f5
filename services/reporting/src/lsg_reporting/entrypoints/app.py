"""Composition root of the reporting service."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from lsg_events import EVENT_TYPES
from lsg_reporting.adapters import repository as repo
from lsg_reporting.domain import catalogue as catalogue_mod
from lsg_reporting.domain.rules import Extractor
from lsg_reporting.entrypoints import dashboard
from lsg_reporting.entrypoints.routes import router
from lsg_reporting.rebuild import CONSUMED_TOPICS
from lsg_reporting.service import Aggregator, FigurePublisher, ReportingConsumer
from lsg_reporting.settings import ReportingSettings
from lsg_shared.app import build_app
from lsg_shared.consumer import subscribe
from lsg_shared.runtime import Runtime

DESCRIPTION = "Programme indicators: target vs actual by region and period."
TAGS = [
    {"name": "indicators", "description": "Indicator figures by period, area, role and gender; their sources"},
    {"name": "reports", "description": "The programme progress report (XLSX, CSV) and IATI 2.03 results"},
    {"name": "deliverables", "description": "Printed and published deliverables no other service records"},
    {"name": "admin", "description": "Rebuild of every figure from the topics"},
    {"name": "operations", "description": "Health and metrics"},
]


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    catalogue = catalogue_mod.load(settings.catalogue_path)
    extractor = Extractor(catalogue)
    aggregator = Aggregator(extractor)
    publisher = FigurePublisher(
        catalogue,
        source="/lsg/reporting",
        interval_s=settings.publish_interval_s,
        max_delay_s=settings.publish_max_delay_s,
    )

    def register(rt: Runtime) -> None:
        if not settings.consume:
            return
        consumer = ReportingConsumer(
            name=settings.consumer_group,
            pool=lambda: rt.pool,
            publish=rt.publish_raw,
            registry=EVENT_TYPES,
            handle=aggregator.handle,
            retries=settings.consumer_retries,
            backoff_s=settings.consumer_retry_backoff_s,
            chunk_size=settings.consumer_chunk_records,
            aggregator=aggregator,
        )
        publisher.busy = lambda: consumer.busy  # runs wait while the consumer catches up on a backlog
        subscribe(
            rt.broker,
            consumer,
            *CONSUMED_TOPICS,
            group_id=settings.consumer_group,
            batch=True,
            max_records=settings.consumer_max_records,
            group_instance_id=settings.consumer_instance_id,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            title="reporting-aggregator",
            description="Every stream's events into indicator facts (exactly-once effect)",
        )

    async def load_catalogue(rt: Runtime) -> None:
        async with rt.pool.acquire() as conn:
            await repo.upsert_catalogue(conn, catalogue)

    async def tune_gc(rt: Runtime) -> None:
        # The consumer allocates many short-lived objects per record; the default gen-0 threshold (700)
        # makes the cyclic collector run thousands of times per second and rescan the long-lived
        # start-up objects, which freeze() moves out of its way.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)

    async def publish_figures(rt: Runtime) -> None:
        await publisher.run(lambda: rt.pool)

    app = build_app(
        name="reporting",
        package="lsg_reporting",
        settings=settings,
        title="LSG Events — reporting",
        description=DESCRIPTION,
        routers=[router, dashboard.router],
        register_consumers=register,
        on_startup=[load_catalogue, tune_gc],
        background=[publish_figures] if settings.publish_figures else [],
        openapi_tags=TAGS,
    )
    app.state.catalogue = catalogue
    app.state.extractor = extractor
    app.state.publisher = publisher
    app.state.rebuilds = {}
    return app
