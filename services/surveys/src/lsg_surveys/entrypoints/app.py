"""Composition root of the surveys service."""

from __future__ import annotations

from fastapi import FastAPI
from lsg_shared.service import build_app

from lsg_surveys.settings import SurveysSettings

DESCRIPTION = "Opinion surveys, focus groups, public consultations and the forum."


def create_app(settings: SurveysSettings | None = None) -> FastAPI:
    settings = settings or SurveysSettings()
    return build_app(
        name="surveys",
        package="lsg_surveys",
        settings=settings,
        title="LSG Events — surveys",
        description=DESCRIPTION,
    )
