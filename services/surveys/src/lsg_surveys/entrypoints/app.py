"""Composition root of the surveys service."""

from __future__ import annotations

from fastapi import FastAPI

from lsg_shared.app import build_app
from lsg_shared.runtime import Runtime
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.entrypoints.errors import ImportBodyLimit, install_scrubbing
from lsg_surveys.entrypoints.routes import router
from lsg_surveys.service import SurveysApp
from lsg_surveys.settings import SurveysSettings

DESCRIPTION = "Opinion surveys, focus groups, public consultations and the forum."

TAGS = [
    {"name": "campaigns", "description": "Surveys and meetings: set-up, open, close, published results"},
    {"name": "responses", "description": "Survey responses, one at a time or in batches"},
    {"name": "imports", "description": "KoboToolbox JSON and ODK Central CSV exports"},
    {"name": "meetings", "description": "Focus groups, public consultations, the forum"},
    {"name": "privacy", "description": "Erasure of personal data on request"},
    {"name": "operations", "description": "Health and metrics"},
]


def create_app(settings: SurveysSettings | None = None) -> FastAPI:
    settings = settings or SurveysSettings()
    app: FastAPI | None = None

    async def bind(rt: Runtime) -> None:
        assert app is not None
        app.state.surveys = SurveysApp(pool=rt.pool, make_event=rt.event)

    app = build_app(
        name="surveys",
        package="lsg_surveys",
        settings=settings,
        title="LSG Events — surveys",
        description=DESCRIPTION,
        routers=[router],
        on_startup=[bind],
        openapi_tags=TAGS,
    )
    install_scrubbing(app)
    # Added last, so it runs before the shared body limit and can raise it for imports.
    app.add_middleware(ImportBodyLimit, max_bytes=settings.max_import_bytes)
    app.state.pseudonymizer = Pseudonymizer(settings.pseudonym_key.get_secret_value())
    app.state.max_batch_rows = settings.max_batch_rows
    return app
