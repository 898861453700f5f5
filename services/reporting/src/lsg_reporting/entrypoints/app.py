"""Composition root of the reporting service."""

from __future__ import annotations

from fastapi import FastAPI
from lsg_shared.service import build_app

from lsg_reporting.settings import ReportingSettings

DESCRIPTION = "Programme indicators: target vs actual by region and period."


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    return build_app(
        name="reporting",
        package="lsg_reporting",
        settings=settings,
        title="LSG Events — reporting",
        description=DESCRIPTION,
    )
