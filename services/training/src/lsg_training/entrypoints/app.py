"""Composition root of the training service."""

from __future__ import annotations

from fastapi import FastAPI

from lsg_shared.app import build_app
from lsg_training.entrypoints.api import router
from lsg_training.settings import TrainingSettings

DESCRIPTION = (
    "Training programme, sessions, attendance, study tour, conference and staff exchange. "
    "Participants' names and contacts stay in this service; events carry a pseudonymous key."
)


def create_app(settings: TrainingSettings | None = None) -> FastAPI:
    settings = settings or TrainingSettings()
    return build_app(
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
