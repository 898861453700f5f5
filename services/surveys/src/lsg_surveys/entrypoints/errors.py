"""Error documents that can always be rendered.

A client can send a lone UTF-16 surrogate (``"\\ud800"`` in JSON); echoed back in a problem document it makes
the JSON encoder fail, turning a 422 into a 500. Values and field names are scrubbed before rendering.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response


def scrub(value: Any) -> Any:
    """`value` with every unpaired surrogate replaced by U+FFFD (recursively in dicts, lists, tuples)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v) for v in value)
    return value


def install_scrubbing(app: FastAPI) -> None:
    """Wrap the shared request-validation handler so the errors it echoes are always encodable."""
    shared: Any = app.exception_handlers[RequestValidationError]

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        response: Response = await shared(request, RequestValidationError(scrub(list(exc.errors()))))
        return response

    app.exception_handlers[RequestValidationError] = handler


class ImportBodyLimit:
    """Raise the shared body limit for the export-import routes only (the shared BodyLimitMiddleware reads
    ``scope["lsg.max_body_bytes"]``); every other route keeps the service-wide limit."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and "/imports/" in scope.get("path", ""):
            scope = {**scope, "lsg.max_body_bytes": self.max_bytes}
        await self.app(scope, receive, send)
