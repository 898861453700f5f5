"""Composition root of the surveys service: ``create_app`` wires the routes, the error handlers, the cache of
campaign definitions and the pseudonymiser onto the shared service skeleton (``lsg_shared.app.build_app``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime

from fastapi import FastAPI

from lsg_shared.app import build_app
from lsg_shared.personal import where
from lsg_shared.runtime import Runtime
from lsg_surveys.adapters.personal import PersonalDatabases
from lsg_surveys.application import privacy
from lsg_surveys.application.campaigns import CampaignDefinitions
from lsg_surveys.application.residency import Residency, SurveysUnitOfWork, residency_of
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.entrypoints import consumers, errors
from lsg_surveys.entrypoints.body_limit import ImportBodyLimit
from lsg_surveys.entrypoints.routes import PUBLIC_READS, router
from lsg_surveys.settings import SurveysSettings

log = logging.getLogger(__name__)

DESCRIPTION = "Opinion surveys, focus groups, public consultations and the forum."

TAGS = [
    {"name": "campaigns", "description": "Surveys and meetings: set-up, open, close, published results"},
    {"name": "responses", "description": "Survey responses, one at a time or in batches"},
    {"name": "imports", "description": "KoboToolbox JSON and ODK Central CSV exports"},
    {"name": "meetings", "description": "Focus groups, public consultations, the forum"},
    {"name": "privacy", "description": "A person's erasure and access export (admin)"},
    {"name": "operations", "description": "Health and metrics"},
]


def create_app(settings: SurveysSettings | None = None) -> FastAPI:
    settings = settings or SurveysSettings()
    personal = PersonalData(settings)

    async def retention_job(rt: Runtime) -> None:
        """The scheduled retention job: every LSG_SURVEYS_RETENTION_INTERVAL_S, first a minute after start."""
        await asyncio.sleep(min(60.0, settings.surveys_retention_interval_s))
        while True:
            try:
                await run_retention(rt, settings)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("retention job: %s", type(exc).__name__)
            await asyncio.sleep(settings.surveys_retention_interval_s)

    app = build_app(
        name="surveys",
        package="lsg_surveys",
        settings=settings,
        title="LSG Events — surveys",
        description=DESCRIPTION,
        routers=[router],
        openapi_tags=TAGS,
        register_consumers=consumers.register,
        on_startup=[personal.start],
        background=[retention_job],
        on_shutdown=[personal.stop],
    )
    errors.install(app)
    # Added last, so it runs before the shared body limit and can raise it for imports.
    app.add_middleware(ImportBodyLimit, max_bytes=settings.max_import_bytes)
    app.state.campaign_definitions = CampaignDefinitions()
    app.state.pseudonymizer = Pseudonymizer(settings.pseudonym_key.get_secret_value())
    app.state.max_batch_rows = settings.max_batch_rows
    app.state.surveys_settings = settings
    return app


class PersonalData:
    """The countries' personal databases and the unit of work that carries the residency (started with the app)."""

    def __init__(self, settings: SurveysSettings) -> None:
        self.settings = settings
        self.databases = PersonalDatabases(settings.personal_database_urls())

    async def start(self, rt: Runtime) -> None:
        if self.settings.subject_key() is None:
            log.warning("LSG_PRIVACY_SUBJECT_KEY is not set: erasure and access requests match local ids only")
        await self.databases.start()
        residency = Residency(self.databases if self.databases.urls else None, where(self.settings.database_url))
        rt._uow = SurveysUnitOfWork(rt.pool, rt.source, residency)
        if rt.audit is not None:
            rt.audit.identity_retention_days = self.settings.audit_identity_retention_days

    async def stop(self, rt: Runtime) -> None:
        await self.databases.stop()


async def run_retention(rt: Runtime, settings: SurveysSettings, today: date | None = None) -> dict[str, int]:
    """One round of the retention job (the background task's body; tests call it with a moved clock)."""
    uow = rt.uow
    async with uow.begin() as tx:
        return await privacy.retention(
            tx,
            residency_of(uow),
            settings.subject_key(),
            today=today or datetime.now(UTC).date(),
            respondent_days=settings.surveys_respondent_retention_days,
            audit_identity_days=settings.audit_identity_retention_days,
        )


# PUBLIC_READS (the routes open to anyone) is part of what the composition root exposes: the access test and
# readers find the service's public list here, beside the app that serves it.
__all__ = ["PUBLIC_READS", "create_app", "run_retention"]
