"""Composition root of the training service."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lsg_shared.app import build_app
from lsg_shared.problems import problem_response
from lsg_training.application.errors import TrainingError
from lsg_training.entrypoints.routes import router
from lsg_training.settings import TrainingSettings

DESCRIPTION = (
    "Training programme, sessions, attendance, study tour, conference and staff exchange. "
    "Participants' names and contacts stay in this service; events carry a pseudonymous key."
)


def create_app(settings: TrainingSettings | None = None) -> FastAPI:
    settings = settings or TrainingSettings()
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
        ],
    )
    app.add_exception_handler(TrainingError, refused)  # type: ignore[arg-type]
    return app


async def refused(request: Request, exc: TrainingError) -> JSONResponse:
    """What a use case refused, as a problem document naming the field."""
    return problem_response(
        exc.status, exc.title, exc.detail, type_=exc.kind, instance=request.url.path, errors=exc.errors
    )
