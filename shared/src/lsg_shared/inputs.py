"""The input guard: text PostgreSQL can store, and numbers its columns can hold, checked at the door.

PostgreSQL's ``text`` cannot hold the NUL character, and UTF-8 cannot encode an unpaired surrogate (JSON's
``"\\ud800"`` decodes to one); either reaching a query used to fail there as a 500. The guard refuses both with
a 422 that names the field, in three places that together cover every way text comes in:

- ``RequestModel``: the base of every JSON request body; each field's strings (nested lists and dicts too) are
  checked after pydantic's own validation, so the error names the field.
- ``SafeText``: the annotated type for a single text query parameter or a field outside a ``RequestModel``.
- ``InputGuardMiddleware``: the path and every query parameter of every request, before routing, so a route
  that forgot the type still never sees such text.

Paging and other integers that reach ``bigint`` columns use the bounds here (``MAX_OFFSET``, ``MAX_LIMIT``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote

from pydantic import AfterValidator, BaseModel, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from lsg_shared.problems import MEDIA_TYPE, TYPE_BASE

MAX_OFFSET = 1_000_000_000
MAX_LIMIT = 1000
BIGINT_MAX = 2**63 - 1


def text_fault(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (an unpaired surrogate cannot be stored)"
    return None


def check_storable(value: Any) -> None:
    """Raise ValueError when ``value`` (text, or text nested in lists, dicts and models) cannot be stored."""
    if isinstance(value, RequestModel):
        return  # checked its own fields when it was built (so the error names the inner field)
    if isinstance(value, BaseModel):  # a contract model (lsg_events' Place...) inside a request: check its values
        for item in value.__dict__.values():
            check_storable(item)
    elif isinstance(value, str):
        fault = text_fault(value)
        if fault:
            raise ValueError(fault)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            check_storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key)
            check_storable(item)


def _safe(value: str) -> str:
    check_storable(value)
    return value


SafeText = Annotated[str, AfterValidator(_safe)]


class RequestModel(BaseModel):
    """Base of every request body: no field may hold text PostgreSQL cannot store."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        check_storable(value)
        return value


def _transport_fault(value: str) -> str | None:
    """Fault of decoded path or query text (undecodable bytes arrive as surrogate escapes)."""
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid UTF-8"
    return None


def request_text_faults(scope: Scope) -> list[dict[str, str]]:
    """The faults of a request's path and query parameters, as problem ``errors`` entries."""
    faults: list[dict[str, str]] = []
    raw_path = scope.get("raw_path")
    if isinstance(raw_path, bytes):
        fault = _transport_fault(unquote(raw_path.decode("latin-1"), errors="surrogateescape"))
        if fault:
            faults.append({"field": "path", "message": fault})
    query: bytes = scope.get("query_string", b"")
    if query:
        text = query.decode("latin-1")
        for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
            fault = _transport_fault(name) or _transport_fault(value)
            if fault:
                label = name.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
                faults.append({"field": f"query:{label}", "message": fault})
    return faults


class InputGuardMiddleware:
    """Refuse a request whose path or query text PostgreSQL could not store (422, naming the parameter)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (b"%" not in scope.get("raw_path", b"%") and not scope.get("query_string")):
            await self.app(scope, receive, send)
            return
        faults = request_text_faults(scope)
        if not faults:
            await self.app(scope, receive, send)
            return
        fields = ", ".join(f["field"] for f in faults)
        body = json.dumps(
            {
                "type": TYPE_BASE + "validation-error",
                "title": "Invalid request",
                "status": 422,
                "detail": f"Invalid field(s): {fields}",
                "instance": scope.get("path", "").encode("utf-8", "replace").decode("utf-8").replace("\x00", ""),
                "errors": faults,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


__all__ = [
    "BIGINT_MAX",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "InputGuardMiddleware",
    "RequestModel",
    "SafeText",
    "check_storable",
    "request_text_faults",
    "text_fault",
]
