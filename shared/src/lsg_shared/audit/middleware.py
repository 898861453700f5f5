"""The ASGI middleware that records one ``request`` row per audited request, after it is answered, whatever the
outcome (refusals included: 401, 403, 413, 422, 429...)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lsg_shared.audit.context import CURRENT, RequestContext, parse_networks
from lsg_shared.audit.model import AUDIT_PATH
from lsg_shared.audit.writer import AuditWriter

log = logging.getLogger("lsg_shared.audit")  # one logger for the whole audit package, as before it was split

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reading the audit log is itself audited.
AUDITED_READS = frozenset({AUDIT_PATH})


def _route(scope: Scope) -> tuple[str | None, dict[str, Any]]:
    """The matched route's template and path parameters (matched again when a middleware answered first)."""
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path", None), dict(scope.get("path_params") or {})
    router = getattr(scope.get("app"), "router", None)
    for candidate in getattr(router, "routes", ()):
        match, child = candidate.matches(scope)
        if match == Match.FULL:
            return getattr(candidate, "path", None), dict(child.get("path_params") or {})
    return None, {}


class AuditMiddleware:
    """Records every audited request, after it is answered, whatever the outcome."""

    def __init__(self, app: ASGIApp, writer: AuditWriter, trusted_proxies: str = "") -> None:
        self.app = app
        self.writer = writer
        self.trusted = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] in SAFE_METHODS and scope["path"] not in AUDITED_READS):
            await self.app(scope, receive, send)
            return
        context = RequestContext(scope, self.writer.service, self.trusted)
        token = CURRENT.set(context)
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            CURRENT.reset(token)
            try:
                template, params = _route(scope)
                action = f"{scope['method']} {template or '<unmatched>'}"
                self.writer.add(context.row("request", action, params, None, status))
            except Exception:  # the audit must never turn an answer into an error
                log.exception("audit log: could not record %s", scope.get("method"))
