"""RFC 9457 problem details (``application/problem+json``) for every error a client sees.

Validation errors name each bad field (``errors[].field``), what was wrong and, where safe, the value.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://lsg-events.github.io/problems/"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or title.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers
        self.extra = extra


def _errors(field: str | None, message: str, value: Any = None) -> list[dict[str, Any]] | None:
    if field is None:
        return None
    item: dict[str, Any] = {"field": field, "message": message}
    if value is not None:
        item["value"] = value
    return [item]


def not_found(what: str, identifier: object, *, field: str | None = None, type_: str = "not-found") -> Problem:
    """404: no `what` with this identifier (``not_found("campaign", "S-1", field="campaign_id")``)."""
    detail = f"No {what} {str(identifier)!r}."
    return Problem(404, "Not found", detail, type_=type_, errors=_errors(field, detail, str(identifier)))


def conflict(detail: str, *, field: str | None = None, type_: str = "conflict", **extra: Any) -> Problem:
    """409: the request is valid but the resource's state does not allow it."""
    return Problem(409, "Conflict", detail, type_=type_, errors=_errors(field, detail), **extra)


def invalid(
    errors: list[dict[str, Any]], detail: str | None = None, *, type_: str = "validation-error", **extra: Any
) -> Problem:
    """422 naming each bad field: ``errors`` items are ``{"field", "message"[, "value"]}``."""
    fields = ", ".join(dict.fromkeys(str(e.get("field", "body")) for e in errors))
    detail = detail or f"Invalid field(s): {fields}"
    return Problem(422, "Invalid request", detail, type_=type_, errors=errors, **extra)


def invalid_field(field: str, message: str, value: Any = None, *, type_: str = "validation-error") -> Problem:
    """422 for one bad field."""
    return invalid(_errors(field, message, value) or [], type_=type_)


def _database_problem(exc: asyncpg.PostgresError) -> tuple[int, str, str, str] | None:
    """The 4xx a database data error stands for, when a bad value got past the route's checks."""
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return 422, "Unknown reference", "A referenced record does not exist.", "unknown-reference"
    if isinstance(exc, asyncpg.UniqueViolationError):
        return 409, "Conflict", "A record with this identifier exists already.", "conflict"
    if isinstance(exc, (asyncpg.CheckViolationError, asyncpg.NotNullViolationError)):
        return 422, "Invalid request", "A value breaks a rule of the stored data.", "validation-error"
    if isinstance(exc, asyncpg.DataError):  # class 22: out of range, bad text, untranslatable character...
        return 422, "Invalid request", "A value cannot be stored as given.", "validation-error"
    return None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: Any) -> Any:
    """Echoed input may hold what JSON cannot encode (lone surrogates, NaN): make it encodable."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)  # echoed as U+FFFD, the replacement character
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and infinities are not JSON: echo them as text
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ if type_.startswith(("http", "about:")) else TYPE_BASE + type_,
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(_clean(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        if not rest:
            return where  # a rule about the whole body (or query...), not one field
        return ".".join(rest) if where == "body" else f"{where}:{'.'.join(rest)}"
    return ".".join(parts)


def validation_errors(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        item: dict[str, Any] = {"field": _field(err.get("loc", ())) or "body", "message": err.get("msg", "")}
        if err.get("type"):
            item["code"] = err["type"]
        value = err.get("input")
        if isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 200):
            item["value"] = value
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    """Register handlers so every error leaves as problem+json, never as a bare 500 page."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        if any(e.get("code") == "json_invalid" for e in errors):
            return problem_response(
                400,
                "Malformed JSON",
                "The request body is not valid JSON.",
                type_="malformed-json",
                instance=request.url.path,
                errors=errors,
            )
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem_response(
            422,
            "Invalid request",
            f"Invalid field(s): {fields}",
            type_="validation-error",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own 400: a body it could not read as the route's media type (not UTF-8, say)
            return problem_response(
                400,
                "Malformed body",
                "The request body could not be read (is it UTF-8 in the declared content type?).",
                type_="malformed-body",
                instance=request.url.path,
                errors=[{"field": "body", "message": str(exc.detail)}],
            )
        return problem_response(
            exc.status_code,
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(asyncpg.PostgresError)
    async def _database(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
        # The last line of defence: a data error is the client's value, not our fault. The constraint or
        # column names what was wrong without echoing the value.
        mapped = _database_problem(exc)
        if mapped is None:
            return await _unexpected(request, exc)
        status, title, detail, type_ = mapped
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        where = getattr(exc, "constraint_name", None) or getattr(exc, "column_name", None)
        errors = [{"field": where or "body", "message": detail, "code": exc.sqlstate or ""}]
        return problem_response(status, title, detail, type_=type_, instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "Internal error",
            "The error was logged; please report the time and path.",
            type_="internal-error",
            instance=request.url.path,
        )
