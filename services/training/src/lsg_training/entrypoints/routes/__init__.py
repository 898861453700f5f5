"""The HTTP API of the training service, under ``/v1``: one router per resource.

Roles: programme set-up (programmes, modules, completion rule) needs ``admin``; every other write needs
``editor``; reads of personal data (participants, attendance, certificates, sheets) need ``viewer``.
Public reads (no token) are only those listed in ``PUBLIC_READS``: they show no person.
"""

from __future__ import annotations

from fastapi import APIRouter

from lsg_training.entrypoints.routes import (
    activities,
    attendance,
    documents,
    participants,
    places,
    privacy,
    programmes,
    sessions,
)

PUBLIC_READS = (
    "GET /v1/programmes",
    "GET /v1/programmes/{programme_id}",
    "GET /v1/programmes/{programme_id}/modules",
    "GET /v1/places",
)

# Each resource's router carries the ``/v1`` prefix, so its routes hold their full paths; this one gathers them
# (in this order in the OpenAPI document) for the app.
router = APIRouter()
for resource in (places, programmes, sessions, participants, attendance, documents, activities, privacy):
    router.routes.extend(resource.router.routes)

__all__ = ["PUBLIC_READS", "router"]
