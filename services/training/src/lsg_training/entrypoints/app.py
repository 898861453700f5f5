"""Composition root of the training service."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lsg_shared.app import build_app
from lsg_shared.personal import where
from lsg_shared.problems import problem_response
from lsg_shared.runtime import Runtime
from lsg_training.adapters.personal import PersonalDatabases
from lsg_training.application import privacy, records
from lsg_training.application.errors import TrainingError
from lsg_training.application.residency import Residency, TrainingUnitOfWork, residency_of
from lsg_training.entrypoints import consumers
from lsg_training.entrypoints.routes import router
from lsg_training.settings import TrainingSettings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Training programme, sessions, attendance, study tour, conference and staff exchange. "
    "Participants' names and contacts stay in this service; events carry a pseudonymous key."
)


def create_app(settings: TrainingSettings | None = None) -> FastAPI:
    settings = settings or TrainingSettings()
    personal = PersonalData(settings)

    async def retention_job(rt: Runtime) -> None:
        """The scheduled retention job: every LSG_TRAINING_RETENTION_INTERVAL_S, first a minute after start."""
        await asyncio.sleep(min(60.0, settings.training_retention_interval_s))
        while True:
            try:
                await run_retention(rt, settings)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("retention job: %s", type(exc).__name__)
            await asyncio.sleep(settings.training_retention_interval_s)

    app = build_app(
        name="training",
        package="lsg_training",
        settings=settings,
        title="LSG Events — training",
        description=DESCRIPTION,
        routers=[router],
        openapi_tags=[
            {"name": "programmes", "description": "Programme set-up (admin): modules, completion rule"},
            {"name": "sessions", "description": "Sessions of a module: date, place, trainers, language"},
            {"name": "participants", "description": "People (names stay here) and enrolments"},
            {"name": "attendance", "description": "Check-ins, corrections, CSV sign-in sheets"},
            {"name": "documents", "description": "Certificates (PDF) and the attendance sheet (XLSX)"},
            {"name": "activities", "description": "Study tour, conference, staff exchange"},
            {"name": "places", "description": "Places of the shared geography"},
            {"name": "privacy", "description": "A person's erasure and access export (admin)"},
        ],
        register_consumers=consumers.register,
        on_startup=[personal.start],
        background=[retention_job],
        on_shutdown=[personal.stop],
    )
    app.add_exception_handler(TrainingError, refused)  # type: ignore[arg-type]
    return app


class PersonalData:
    """The countries' personal databases and the unit of work that carries the residency (started with the app)."""

    def __init__(self, settings: TrainingSettings) -> None:
        self.settings = settings
        self.databases = PersonalDatabases(settings.personal_database_urls())

    async def start(self, rt: Runtime) -> None:
        if self.settings.subject_key() is None:
            log.warning("LSG_PRIVACY_SUBJECT_KEY is not set: erasure and access requests match local ids only")
        await self.databases.start()
        residency = Residency(
            self.databases if self.databases.urls else None,
            self.settings.pseudonym_key(),
            where(self.settings.database_url),
        )
        rt._uow = TrainingUnitOfWork(rt.pool, rt.source, residency)
        if rt.audit is not None:
            rt.audit.identity_retention_days = self.settings.audit_identity_retention_days

    async def stop(self, rt: Runtime) -> None:
        await self.databases.stop()


async def run_retention(rt: Runtime, settings: TrainingSettings, today: date | None = None) -> dict[str, int]:
    """One round of the retention job (the background task's body; tests call it with a moved clock)."""
    uow = rt.uow
    async with uow.begin() as tx:
        return await privacy.retention(
            tx,
            residency_of(uow),
            settings.subject_key(),
            today=today or records.today(),
            participant_days=settings.training_participant_retention_days,
            audit_identity_days=settings.audit_identity_retention_days,
        )


async def refused(request: Request, exc: TrainingError) -> JSONResponse:
    """What a use case refused, as a problem document naming the field."""
    return problem_response(
        exc.status, exc.title, exc.detail, type_=exc.kind, instance=request.url.path, errors=exc.errors
    )
