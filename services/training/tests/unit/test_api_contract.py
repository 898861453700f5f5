"""The HTTP contract without infrastructure: OpenAPI is served and every route declares who may call it."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from lsg_training.entrypoints.app import create_app
from lsg_training.entrypoints.routes import PUBLIC_READS, router
from lsg_training.settings import TrainingSettings

pytestmark = pytest.mark.unit


def _roles(route: APIRoute) -> set[str]:
    return {getattr(d.call, "required_role", None) for d in route.dependant.dependencies} - {None}


def test_every_route_declares_its_role() -> None:
    app = create_app(TrainingSettings(training_pseudonym_key="k"))
    # FastAPI wraps included routers; the service's own router holds the routes with their full paths.
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 20
    for route in routes:
        for method in route.methods:
            name = f"{method} {route.path}"
            roles = _roles(route)
            if method == "GET":
                assert roles or name in PUBLIC_READS, name
            else:
                assert roles & {"editor", "admin"}, name
    admin = {f"{m} {r.path}" for r in routes for m in r.methods if "admin" in _roles(r)}
    assert "POST /v1/programmes" in admin
    assert "PUT /v1/programmes/{programme_id}/completion-rule" in admin
    schema = app.openapi()
    assert "/v1/sessions/{session_id}/attendance/import" in schema["paths"]


def test_the_pseudonym_key_is_required_outside_development() -> None:
    with pytest.raises(ValueError, match="LSG_TRAINING_PSEUDONYM_KEY"):
        TrainingSettings(environment="production")
    assert TrainingSettings(environment="production", training_pseudonym_key="s").pseudonym_key() == b"s"
    assert "top-secret-value" not in repr(TrainingSettings(training_pseudonym_key="top-secret-value"))
