"""Composition root of the reporting service: `create_app` wires the catalogue, the aggregation, the figure
publisher, the consumer and the routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lsg_reporting.adapters import postgres as pg
from lsg_reporting.adapters import report_documents
from lsg_reporting.application import privacy
from lsg_reporting.application.aggregation import Aggregator
from lsg_reporting.application.errors import Conflict, InvalidValue, NotFound, ReportingError
from lsg_reporting.application.figures import FigurePublisher
from lsg_reporting.application.period_reports import Renderers
from lsg_reporting.application.rebuild import RebuildRuns
from lsg_reporting.domain import catalogue as catalogue_mod
from lsg_reporting.domain import workplan as workplan_mod
from lsg_reporting.domain.rules import Extractor
from lsg_reporting.entrypoints import privacy_requests
from lsg_reporting.entrypoints.consumers import subscribe_aggregator
from lsg_reporting.entrypoints.routes import (
    budget,
    dashboard,
    deliverables,
    expenditure,
    indicators,
    period_reports,
    rebuild,
    reports,
    workplan,
)
from lsg_reporting.entrypoints.routes import privacy as privacy_routes
from lsg_reporting.settings import ReportingSettings
from lsg_shared.app import build_app
from lsg_shared.problems import Problem, conflict, invalid_field, not_found, problem_response
from lsg_shared.runtime import Runtime

log = logging.getLogger(__name__)
DESCRIPTION = "Programme indicators: target vs actual by region and period."
TAGS = [
    {"name": "indicators", "description": "Indicator figures by period, area, role and gender; their sources"},
    {"name": "reports", "description": "The programme progress report (XLSX, CSV) and IATI 2.03 results"},
    {"name": "deliverables", "description": "Printed and published deliverables no other service records"},
    {"name": "money", "description": "Budget versions, expenditure, first-level control and burn"},
    {"name": "period reports", "description": "Reporting periods, their reports' workflow and lock, XLSX and PDF"},
    {"name": "workplan", "description": "Work packages, activities, deliverables, milestones, slippage and burn"},
    {"name": "admin", "description": "Rebuild of every figure from the topics"},
    {"name": "privacy", "description": "A person's logins: erasure (pseudonymised) and access export (admin)"},
    {"name": "operations", "description": "Health and metrics"},
]
# Every operation open without a token (suppressed figures only); the route-access test reads this list.
PUBLIC_READS = (*indicators.PUBLIC_READS, *reports.PUBLIC_READS, *workplan.PUBLIC_READS)
PUBLIC_ROUTES = dashboard.PUBLIC_ROUTES


def problem_of(exc: ReportingError) -> Problem:
    """The problem document a use case's refusal stands for."""
    if isinstance(exc, NotFound):
        return not_found(exc.what, exc.identifier)
    if isinstance(exc, Conflict):
        return conflict(exc.detail)
    if isinstance(exc, InvalidValue):
        return invalid_field(exc.field, exc.message)
    return Problem(400, "Bad request", str(exc))


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReportingError)
    p = problem_of(exc)
    return problem_response(
        p.status, p.title, p.detail, type_=p.type, instance=request.url.path, errors=p.errors, **p.extra
    )


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    catalogue = catalogue_mod.load(settings.catalogue_path)
    plan = workplan_mod.load(catalogue, settings.workplan_path)
    extractor = Extractor(catalogue)
    aggregator = Aggregator(extractor)
    publisher = FigurePublisher(
        catalogue,
        source="/lsg/reporting",
        interval_s=settings.publish_interval_s,
        max_delay_s=settings.publish_max_delay_s,
    )

    def register(rt: Runtime) -> None:
        if settings.consume:
            subscribe_aggregator(rt, settings, aggregator, publisher)
            privacy_requests.register(rt, settings)

    async def load_catalogue(rt: Runtime) -> None:
        async with rt.uow.read() as conn:
            await pg.upsert_catalogue(conn, catalogue)

    async def tune_gc(rt: Runtime) -> None:
        # The consumer allocates many short-lived objects per record; the default gen-0 threshold (700)
        # makes the cyclic collector run thousands of times per second and rescan the long-lived
        # start-up objects, which freeze() moves out of its way.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)

    async def publish_figures(rt: Runtime) -> None:
        await publisher.run(lambda: rt.pool)

    async def retention_job(rt: Runtime) -> None:
        """The scheduled retention job: every LSG_REPORTING_RETENTION_INTERVAL_S, first a minute after start."""
        await asyncio.sleep(min(60.0, settings.reporting_retention_interval_s))
        while True:
            try:
                await run_retention(rt, settings)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("retention job: %s", type(exc).__name__)
            await asyncio.sleep(settings.reporting_retention_interval_s)

    async def privacy_key_check(rt: Runtime) -> None:
        if settings.subject_key() is None:
            log.warning("LSG_PRIVACY_SUBJECT_KEY is not set: erasure and access requests match logins given only")

    app = build_app(
        name="reporting",
        package="lsg_reporting",
        settings=settings,
        title="LSG Events — reporting",
        description=DESCRIPTION,
        routers=[
            indicators.router,
            reports.router,
            deliverables.router,
            budget.router,
            expenditure.router,
            period_reports.router,
            workplan.router,
            rebuild.router,
            privacy_routes.router,
            dashboard.router,
        ],
        register_consumers=register,
        on_startup=[load_catalogue, tune_gc, privacy_key_check],
        background=[*([publish_figures] if settings.publish_figures else []), retention_job],
        openapi_tags=TAGS,
    )
    app.add_exception_handler(ReportingError, _refused)
    app.state.catalogue = catalogue
    app.state.workplan = plan
    app.state.extractor = extractor
    app.state.publisher = publisher
    app.state.rebuilds = RebuildRuns()
    app.state.reporting_settings = settings
    app.state.report_renderers = Renderers(
        xlsx=report_documents.report_xlsx, pdf=partial(report_documents.report_pdf, font=settings.font_path())
    )
    return app


async def run_retention(rt: Runtime, settings: ReportingSettings, now: datetime | None = None) -> dict[str, int]:
    """One round of the retention job (the background task's body; tests call it with a moved clock)."""
    async with rt.uow.begin() as tx:
        return await privacy.retention(
            tx,
            now=now or datetime.now(UTC),
            identity_days=settings.reporting_identity_retention_days,
            audit_identity_days=settings.audit_identity_retention_days,
        )
