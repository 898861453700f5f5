"""Composition root of the surveys service: ``create_app`` wires the routes, the error handlers, the cache of
campaign definitions and the pseudonymiser onto the shared service skeleton (``lsg_shared.app.build_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lsg_shared.app import build_app
from lsg_surveys.application.campaigns import CampaignDefinitions
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.entrypoints import errors
from lsg_surveys.entrypoints.body_limit import ImportBodyLimit
from lsg_surveys.entrypoints.routes import PUBLIC_READS, router
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
    app = build_app(
        name="surveys",
        package="lsg_surveys",
        settings=settings,
        title="LSG Events — surveys",
        description=DESCRIPTION,
        routers=[router],
        openapi_tags=TAGS,
    )
    errors.install(app)
    # Added last, so it runs before the shared body limit and can raise it for imports.
    app.add_middleware(ImportBodyLimit, max_bytes=settings.max_import_bytes)
    app.state.campaign_definitions = CampaignDefinitions()
    app.state.pseudonymizer = Pseudonymizer(settings.pseudonym_key.get_secret_value())
    app.state.max_batch_rows = settings.max_batch_rows
    return app


# PUBLIC_READS (the routes open to anyone) is part of what the composition root exposes: the access test and
# readers find the service's public list here, beside the app that serves it.
__all__ = ["PUBLIC_READS", "create_app"]
