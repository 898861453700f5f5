"""Composition root of the training service."""

from __future__ import annotations

from fastapi import FastAPI
from lsg_shared.service import build_app

from lsg_training.settings import TrainingSettings

DESCRIPTION = "Training programme, sessions, attendance, study tour, conference and staff exchange."


def create_app(settings: TrainingSettings | None = None) -> FastAPI:
    settings = settings or TrainingSettings()
    return build_app(
        name="training",
        package="lsg_training",
        settings=settings,
        title="LSG Events — training",
        description=DESCRIPTION,
    )
