"""What an audit row is made of: its columns, and the rules every value obeys before it is stored.

A row is a plain tuple in :data:`COLUMNS` order (what ``executemany`` takes), made by the request context
(:mod:`lsg_shared.audit.context`) or, with no HTTP request behind it, by :func:`row_without_request`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

COLUMNS = (
    "occurred_at",
    "service",
    "kind",
    "subject",
    "auth",
    "roles",
    "countries",
    "municipalities",
    "action",
    "resource",
    "detail",
    "status",
    "client_addr",
    "proxy_addr",
    "request_id",
    "trace_id",
    "user_agent",
)
EXPORT_COLUMNS = ("id", *COLUMNS)
AUDIT_PATH = "/v1/audit"
# Keys a change's detail may never carry (a guard against a careless call: ids only, never values).
FORBIDDEN_DETAIL_KEYS = frozenset({"secret", "password", "token", "answers", "body"})


def clean(value: Any, limit: int = 200) -> str | None:
    """Text PostgreSQL accepts (no NUL, no lone surrogate), at most `limit` characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit and text.isascii() and "\x00" not in text:
        return text  # the usual case, without copying
    text = text[:limit].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` value, if it is one."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and re.fullmatch(r"[0-9a-f]{32}", parts[1]) else None


def resource_of(params: Mapping[str, Any]) -> dict[str, str]:
    """The ids a row names (path parameters): at most ten, keys and values made storable."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if len(out) == 10:
            break
        out[clean(key, 64) or ""] = clean(value) or ""
    return out


def check_detail(value: Any, path: str = "detail") -> None:
    """Refuse a detail that carries a value of a forbidden kind (:data:`FORBIDDEN_DETAIL_KEYS`), at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(f"{path}.{key}: the audit log never holds values of this kind")
            check_detail(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            check_detail(item, path)


def row_without_request(
    occurred_at: datetime,
    service: str,
    kind: str,
    subject: str | None,
    auth: str,
    action: str,
    resource: Mapping[str, Any],
    detail: Mapping[str, Any] | None,
    status: int | None,
    trace_id: str | None = None,
) -> tuple[Any, ...]:
    """A row with no HTTP request behind it: no roles or scope, no addresses or request ids."""
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values.update(
        occurred_at=occurred_at,
        service=service,
        kind=kind,
        subject=clean(subject),
        auth=auth,
        roles=[],
        countries=[],
        municipalities=[],
        action=clean(action, 300),
        resource=resource_of(resource),
        detail=dict(detail) if detail is not None else None,
        status=status,
        trace_id=trace_id,
    )
    return tuple(values[c] for c in COLUMNS)
