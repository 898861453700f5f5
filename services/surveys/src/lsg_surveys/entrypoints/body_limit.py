"""The larger body limit of the export-import routes."""

from __future__ import annotations

from typing import Any


class ImportBodyLimit:
    """Raise the shared body limit for the export-import routes only (the shared BodyLimitMiddleware reads
    ``scope["lsg.max_body_bytes"]``); every other route keeps the service-wide limit."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") == "http" and ("/imports/" in path or "/webhooks/" in path or path.endswith("/form")):
            scope = {**scope, "lsg.max_body_bytes": self.max_bytes}
        await self.app(scope, receive, send)
