"""ASGI middlewares every service mounts: a request body limit and per-route HTTP metrics."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lsg_shared import metrics
from lsg_shared.problems import MEDIA_TYPE, TYPE_BASE


class BodyLimitMiddleware:
    """Answer 413 problem+json for a body over `max_bytes`, before the route reads it all into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = scope.get("lsg.max_body_bytes", self.max_bytes)
        declared: int | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                declared = int(value)
                if declared > limit:
                    await self._too_large(send, limit, str(scope.get("path", "")))
                    return
        if declared is not None and not any(name == b"transfer-encoding" for name, _ in scope.get("headers", [])):
            # A declared length within the limit: the HTTP server frames the body by it (never more bytes than
            # declared), so counting each chunk again is not needed. Chunked bodies are counted below.
            await self.app(scope, receive, send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        started = False

        path = str(scope.get("path", ""))

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large:
                # The app answered after the limit was hit (FastAPI turns a failed body read into its own 400):
                # the client gets the one documented answer for an oversize body instead.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._too_large(send, limit, path)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send, limit, path)
        except Exception:
            if too_large and not started:
                await self._too_large(send, limit, path)
            else:
                raise

    @staticmethod
    async def _too_large(send: Send, limit: int, path: str = "") -> None:
        detail = f"The request body is larger than {limit} bytes."
        body = json.dumps(
            {
                "type": TYPE_BASE + "too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": detail,
                "instance": path.encode("utf-8", "replace").decode("utf-8"),
                "errors": [{"field": "body", "message": detail, "code": "too-large", "limit": limit}],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class MetricsMiddleware:
    """Request latency histogram labelled by the route template (not the raw path: bounded cardinality)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # Labelled children by (method, route, status): `labels()` takes a lock and builds a tuple each call.
        self._children: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            key = (scope.get("method", ""), _route(scope), status)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = metrics.HTTP_REQUESTS.labels(self.service, key[0], key[1], str(status))
            child.observe(time.perf_counter() - start)


def _route(scope: Scope) -> str:
    """The template of the route that handled the request: the router leaves it in the scope; matched again
    only when no route ran (a middleware answered first, or nothing matched)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    regex = getattr(route, "path_regex", None)
    # The route's own template is the full one unless it was included under a further prefix (or mounted):
    # then its pattern does not match the whole request path, and the routes are matched again below.
    if isinstance(path, str) and regex is not None and regex.match(scope.get("path", "")):
        return path
    app: Any = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"
