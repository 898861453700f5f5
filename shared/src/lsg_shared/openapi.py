"""The OpenAPI document as clients can trust it: every error a route can answer is a documented problem.

FastAPI documents only a route's success and its 422 as ``application/json`` ``HTTPValidationError``. The suite
answers every error as ``application/problem+json`` (RFC 9457, ``problems.py``): bad input 400/422, no or a bad
token 401, a role or scope refusal 403, unknown ids 404, state conflicts 409, oversize bodies 413, an unsupported
media type 415, rate limits 429, a dependency away 503. This adds the ``Problem`` schema and, to every operation,
its 422 as a problem and a ``default`` problem response for the others, so generated clients and Schemathesis'
conformance checks see what the service really sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from lsg_shared.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each bad field.",
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "body.field, query:name, path or header:name"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status"],
}
_REF = {"$ref": "#/components/schemas/Problem"}
# For a create that answers 201, and 200 when the same request came before (idempotent repeats): the route's
# `responses=REPEAT` documents the 200, so clients and conformance checks know both.
REPEAT: dict[int | str, dict[str, Any]] = {
    200: {"description": "A repeat of an earlier request (or an edit of it): the resource as it is now"}
}
_PROBLEM = {"content": {MEDIA_TYPE: {"schema": _REF}}}


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the Problem schema, every 422 as a problem, and a default problem response."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if status.startswith(("4", "5")):
                    response["content"] = {MEDIA_TYPE: {"schema": _REF}}
            if "422" in responses:
                responses["422"]["description"] = "Invalid request: each bad field named in errors[]"
            responses.setdefault(
                "default", {"description": "An error, as a problem document (4xx: the request; 5xx: ours)", **_PROBLEM}
            )
    return document


def install(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Make ``app.openapi()`` return the document with problems (built once, as FastAPI does)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = with_problems(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
