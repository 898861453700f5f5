"""Composition root of the alerts service."""

from __future__ import annotations

from fastapi import FastAPI
from lsg_shared.service import build_app

from lsg_alerts.settings import AlertsSettings

DESCRIPTION = "Emergency-communication devices, partner CAP alerts and the alert lifecycle."


def create_app(settings: AlertsSettings | None = None) -> FastAPI:
    settings = settings or AlertsSettings()
    return build_app(
        name="alerts",
        package="lsg_alerts",
        settings=settings,
        title="LSG Events — alerts",
        description=DESCRIPTION,
    )
