"""Who made a request and from where, read from the request's own ASGI scope for its audit rows.

Never a body, a header other than the few in :data:`_WANTED`, or the query string: so never a secret, a token or a
survey answer. The caller's identity is what the route's checks left in the scope (``require`` and
:func:`identify_partner`), never shared state.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from opentelemetry import trace
from starlette.types import Scope

from lsg_shared.audit.model import clean, resource_of, trace_id_of
from lsg_shared.auth import Principal

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def parse_networks(raw: str | Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7"`` as networks (a bare address is a /32 or /128)."""
    items = raw.split(",") if isinstance(raw, str) else raw
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _in(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


_WANTED = frozenset({b"user-agent", b"x-request-id", b"x-correlation-id", b"traceparent", b"x-forwarded-for"})


def _headers(scope: Scope) -> dict[bytes, str]:
    """The few headers the audit reads (one pass; repeated headers joined with commas), and no other."""
    found: dict[bytes, str] = {}
    for name, value in scope.get("headers", ()):
        if name in _WANTED:
            text = value.decode("latin-1")
            found[name] = f"{found[name]},{text}" if name in found else text
    return found


def client_address(
    scope: Scope,
    trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    headers: Mapping[bytes, str] | None = None,
) -> tuple[str | None, str | None]:
    """(client, proxy): the peer, unless the peer is a trusted proxy; then the right-most address of
    ``X-Forwarded-For`` that is not a trusted proxy (the left-most ones are whatever the client claimed)."""
    peer = scope.get("client")
    address = str(peer[0]) if peer else None
    if address is None or not trusted or not _in(address, trusted):
        return clean(address, 64), None
    headers = _headers(scope) if headers is None else headers
    forwarded = [hop.strip() for hop in headers.get(b"x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _in(hop, trusted):
            return clean(hop, 64), clean(address, 64)
    return clean(forwarded[0] if forwarded else address, 64), clean(address, 64)


def _trace_id(headers: Mapping[bytes, str]) -> str | None:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return f"{context.trace_id:032x}"
    return trace_id_of(headers.get(b"traceparent"))


def _identity(scope: Scope) -> tuple[str | None, str, list[str], list[str], list[str]]:
    """(subject, auth, roles, countries, municipalities) of the caller, as the route's checks found it
    (``require`` and :func:`identify_partner` leave it in the request's own scope, never in shared state)."""
    principal = scope.get("lsg.principal")
    if isinstance(principal, Principal):
        return (
            clean(principal.subject),
            principal.auth,
            sorted(principal.roles),
            sorted(principal.countries),
            sorted(principal.municipalities),
        )
    if scope.get("lsg.auth_refused"):
        return clean(scope.get("lsg.claimed_subject")), "invalid", [], [], []
    return None, "anonymous", [], [], []


def identify_partner(request: Request, partner_id: str, *, verified: bool) -> None:
    """A partner door says who called: the partner whose signature verified (or, refused, who it claimed)."""
    if verified:
        request.scope["lsg.principal"] = Principal(partner_id, frozenset(), auth="partner")
    else:
        request.scope["lsg.auth_refused"] = True
        request.scope["lsg.claimed_subject"] = partner_id


class RequestContext:
    """What a request's audit rows share; held in :data:`CURRENT` so :func:`~lsg_shared.audit.change` needs no
    request.

    Only the arrival time is taken before the request runs; the rest is read when the first row is made
    (for the middleware's row, after the response was sent: off the request's latency)."""

    __slots__ = ("_where", "arrived", "scope", "service", "trusted")

    def __init__(self, scope: Scope, service: str, trusted: Sequence[Any]) -> None:
        self.scope = scope
        self.service = service
        self.trusted = trusted
        self.arrived = time.time()
        self._where: tuple[str | None, ...] | None = None

    def where(self) -> tuple[str | None, ...]:
        """(client, proxy, request id, trace id, user agent), read once."""
        if self._where is None:
            headers = _headers(self.scope)
            client, proxy = client_address(self.scope, self.trusted, headers)
            request_id = headers.get(b"x-request-id") or headers.get(b"x-correlation-id")
            request_id = request_id if request_id and _REQUEST_ID.match(request_id) else None
            self._where = (client, proxy, request_id, _trace_id(headers), clean(headers.get(b"user-agent"), 300))
        return self._where

    def row(
        self,
        kind: str,
        action: str,
        resource: Mapping[str, Any],
        detail: Mapping[str, Any] | None,
        status: int | None,
        occurred_at: datetime | None = None,
    ) -> tuple[Any, ...]:
        subject, auth, roles, countries, municipalities = _identity(self.scope)
        return (
            occurred_at or datetime.fromtimestamp(self.arrived, UTC),
            self.service,
            kind,
            subject,
            auth,
            roles,
            countries,
            municipalities,
            clean(action, 300),
            resource_of(resource),
            dict(detail) if detail is not None else None,
            status,
            *self.where(),
        )


# The audited request being served, set by the middleware for the request's duration.
CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("lsg_audit_request", default=None)
