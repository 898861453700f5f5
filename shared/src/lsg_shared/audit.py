"""The audit log: who (subject) did what, when, from where, in each service's own database.

Two kinds of rows land in ``lsg_audit_log`` (shared migration ``0002_audit_log``):

* ``request``: one per HTTP request that may change something (every method but GET, HEAD and OPTIONS, and
  reads of the audit log itself), written by :class:`AuditMiddleware` *including refusals* (401, 403, 413,
  422, 429...). It records the subject and how it authenticated (OIDC, static token, partner signature,
  anonymous, or ``invalid`` for a credential that was refused), its roles and scope, the action as method and
  route template (``POST /v1/partners/{partner_id}/secrets``), the path parameters (ids), the status code,
  the client address (``X-Forwarded-For`` only from ``LSG_TRUSTED_PROXIES``), the request and trace ids and
  the user agent. Never a body, a header other than those, or the query string: so never a secret, a token
  or a survey answer.
* ``request`` rows also record what arrives on a partner's Kafka door (:func:`delivery`, added by the consumer
  to the same buffer): the partner as subject (``partner`` when its signature verified, ``invalid`` for the
  one a refused record claimed), the action ``KAFKA <topic> <kind>``, the topic, partition, offset and outcome
  or refusal reason, and the status the HTTP door would have answered.
* ``change``: a domain change a route records with :func:`change` *in the same transaction* as the change
  (partner created, secret rotated: which secret ids, never the secret), so it is committed if and only if
  the change is.

Request rows are not written on the request's path: :meth:`AuditWriter.add` appends a tuple to an in-memory
buffer, and a background task writes the buffer in one batched statement every ``LSG_AUDIT_FLUSH_INTERVAL_S``
(0.5 s) or as soon as ``LSG_AUDIT_BATCH_SIZE`` (500) rows wait, and once more at shutdown. A crash (SIGKILL,
OOM) loses at most the rows of the last interval; while PostgreSQL is unreachable rows wait in memory up to
``LSG_AUDIT_BUFFER_MAX`` and beyond that are counted in ``lsg_audit_rows_dropped_total``.

Export: ``GET /v1/audit`` (admin; JSON or CSV) and ``lsg-admin audit export``. Retention: rows older than
``LSG_AUDIT_RETENTION_DAYS`` (400) are pruned by every service every few hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import csv
import io
import ipaddress
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from prometheus_client import Counter
from pydantic import BaseModel
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lsg_shared import metrics
from lsg_shared.auth import Principal, require
from lsg_shared.db import Conn

log = logging.getLogger(__name__)

TABLE = "lsg_audit_log"
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
INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(COLUMNS)))})"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUDIT_PATH = "/v1/audit"
# Reading the audit log is itself audited.
AUDITED_READS = frozenset({AUDIT_PATH})
# Keys a change's detail may never carry (a guard against a careless call: ids only, never values).
FORBIDDEN_DETAIL_KEYS = frozenset({"secret", "password", "token", "answers", "body"})

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
_CURRENT: contextvars.ContextVar[_Context | None] = contextvars.ContextVar("lsg_audit_request", default=None)

ROWS_WRITTEN = Counter(
    "lsg_audit_rows_written", "Audit rows written to PostgreSQL", ["service"], registry=metrics.registry
)
ROWS_DROPPED = Counter(
    "lsg_audit_rows_dropped",
    "Audit rows dropped: the in-memory buffer was full (PostgreSQL unreachable) or a row was unwritable",
    ["service", "reason"],
    registry=metrics.registry,
)


# ---- what a row is made of ---------------------------------------------------------------------------------
def clean(value: Any, limit: int = 200) -> str | None:
    """Text PostgreSQL accepts (no NUL, no lone surrogate), at most `limit` characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit and text.isascii() and "\x00" not in text:
        return text  # the usual case, without copying
    text = text[:limit].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


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


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` value, if it is one."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and re.fullmatch(r"[0-9a-f]{32}", parts[1]) else None


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


def _resource(params: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if len(out) == 10:
            break
        out[clean(key, 64) or ""] = clean(value) or ""
    return out


class _Context:
    """What a request's audit rows share; held in a context variable so :func:`change` needs no request.

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
            _resource(resource),
            dict(detail) if detail is not None else None,
            status,
            *self.where(),
        )


# ---- writing ------------------------------------------------------------------------------------------------
_UNWRITABLE = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


class AuditWriter:
    """Buffers request rows in memory and writes them in batches, off the request's path."""

    def __init__(
        self,
        service: str,
        *,
        flush_interval_s: float = 0.5,
        batch_size: int = 500,
        buffer_max: int = 50_000,
        retention_days: int = 400,
        prune_every_s: float = 6 * 3600,
    ) -> None:
        self.service = service
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.buffer_max = buffer_max
        self.retention_days = retention_days
        self.prune_every_s = prune_every_s
        self.rows: list[tuple[Any, ...]] = []
        self.last_error: str | None = None
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._stopping = False
        self._quiet_until = 0.0

    def add(self, row: tuple[Any, ...]) -> None:
        """O(1), never blocks, never raises: what the request path pays."""
        if len(self.rows) >= self.buffer_max:
            ROWS_DROPPED.labels(self.service, "buffer_full").inc()
            return
        self.rows.append(row)
        if len(self.rows) >= self.batch_size and self._wake is not None:
            self._wake.set()

    def start(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._stopping = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-audit-writer")

    async def stop(self) -> None:
        """Write what is buffered (the final flush) and stop the background task."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()
        if self.rows:
            log.error("audit log: %d row(s) could not be written before shutdown (%s)", len(self.rows), self.last_error)
        self._pool = None

    async def _run(self) -> None:
        assert self._wake is not None
        next_prune = time.monotonic() + 60
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
                if time.monotonic() >= next_prune and self._pool is not None:
                    next_prune = time.monotonic() + self.prune_every_s
                    async with self._pool.acquire() as conn:
                        pruned = await prune(conn, self.retention_days)
                    if pruned:
                        log.info("audit log: pruned %d row(s) older than %d days", pruned, self.retention_days)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the writer die: the next round tries again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("audit log: %s", self.last_error)

    async def flush(self) -> int:
        """Write the buffered rows now (one statement per batch). Returns how many were written."""
        if self._pool is None or self._lock is None or not self.rows:
            return 0
        async with self._lock:
            rows, self.rows = self.rows, []
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await conn.executemany(INSERT, rows)
            except Exception as exc:
                written = await self._one_by_one(rows, exc)
            else:
                written = len(rows)
                self.last_error = None
        if written:
            ROWS_WRITTEN.labels(self.service).inc(written)
        return written

    async def _one_by_one(self, rows: list[tuple[Any, ...]], first: Exception) -> int:
        """A batch failed: drop only rows PostgreSQL refuses as data; keep the rest for the next round."""
        self.last_error = f"{type(first).__name__}: {first}"
        written = 0
        assert self._pool is not None
        for index, row in enumerate(rows):
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute(INSERT, *row)
                written += 1
            except _UNWRITABLE as exc:
                ROWS_DROPPED.labels(self.service, "unwritable").inc()
                log.warning("audit log: dropped an unwritable row (%s: %s)", type(exc).__name__, exc)
            except Exception as exc:
                # PostgreSQL unreachable (or the table not migrated yet): keep the rest, oldest first.
                self.rows = (rows[index:] + self.rows)[: self.buffer_max]
                if time.monotonic() >= self._quiet_until:  # one line per 30 s while it lasts, not one per flush
                    self._quiet_until = time.monotonic() + 30
                    log.warning("audit log: %d row(s) wait for PostgreSQL (%s)", len(self.rows), type(exc).__name__)
                break
        return written


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
        context = _Context(scope, self.writer.service, self.trusted)
        token = _CURRENT.set(context)
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            _CURRENT.reset(token)
            try:
                template, params = _route(scope)
                action = f"{scope['method']} {template or '<unmatched>'}"
                self.writer.add(context.row("request", action, params, None, status))
            except Exception:  # the audit must never turn an answer into an error
                log.exception("audit log: could not record %s", scope.get("method"))


# ---- domain changes -----------------------------------------------------------------------------------------
def _check_detail(value: Any, path: str = "detail") -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(f"{path}.{key}: the audit log never holds values of this kind")
            _check_detail(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_detail(item, path)


async def change(
    conn: Conn,
    action: str,
    *,
    resource: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    service: str | None = None,
) -> None:
    """Record a domain change in the caller's transaction (ids and slots only, never a secret or an answer).

    Inside a request the subject, address and ids come from that request; elsewhere (a consumer, a job) the
    row says ``auth = 'system'``."""
    _check_detail(detail)
    context = _CURRENT.get()
    now = datetime.now(UTC)
    if context is not None:
        row = context.row("change", action, resource or {}, detail, None, occurred_at=now)
    else:
        row = _row(now, service or "unknown", "change", None, "system", action, resource or {}, detail, None)
    await conn.execute(INSERT, *row)


def delivery(
    service: str,
    action: str,
    *,
    subject: str | None,
    verified: bool,
    resource: Mapping[str, Any],
    detail: Mapping[str, Any],
    status: int | None,
    trace_id: str | None = None,
) -> tuple[Any, ...]:
    """A ``request`` row for something that did not come over HTTP: a partner's record on a Kafka door.

    The subject is the partner whose signature verified (``auth = 'partner'``) or, refused, the one it claimed
    (``'invalid'``); the status is what the HTTP door would have answered. Hand it to :meth:`AuditWriter.add`."""
    _check_detail(detail)
    auth = "partner" if verified else "invalid"
    return _row(datetime.now(UTC), service, "request", subject, auth, action, resource, detail, status, trace_id)


def _row(
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
        resource=_resource(resource),
        detail=dict(detail) if detail is not None else None,
        status=status,
        trace_id=trace_id,
    )
    return tuple(values[c] for c in COLUMNS)


def identify_partner(request: Request, partner_id: str, *, verified: bool) -> None:
    """A partner door says who called: the partner whose signature verified (or, refused, who it claimed)."""
    if verified:
        request.scope["lsg.principal"] = Principal(partner_id, frozenset(), auth="partner")
    else:
        request.scope["lsg.auth_refused"] = True
        request.scope["lsg.claimed_subject"] = partner_id


# ---- retention ----------------------------------------------------------------------------------------------
async def prune(conn: Conn, retention_days: int, batch: int = 5000) -> int:
    """Delete rows older than `retention_days`, in batches (short locks). Returns how many."""
    total = 0
    while True:
        status = await conn.execute(
            f"DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE} "
            "WHERE occurred_at < now() - make_interval(days => $1) ORDER BY id LIMIT $2)",
            retention_days,
            batch,
        )
        count = int(status.split()[-1])
        total += count
        if count < batch:
            return total


# ---- reading and export -------------------------------------------------------------------------------------
def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def query(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    subject: str | None = None,
    action: str | None = None,
    kind: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """The SELECT for a filter, oldest first (by id: the keyset cursor ``after``). ``action`` ending in ``*``
    is a prefix (``POST /v1/partners*``, ``partner.*``)."""
    clauses: list[str] = []
    args: list[Any] = []

    def where(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if since is not None:
        where("occurred_at >= ?", _utc(since))
    if until is not None:
        where("occurred_at < ?", _utc(until))
    if subject:
        where("subject = ?", subject)
    if action and action.endswith("*"):
        escaped = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where("action LIKE ? ESCAPE '\\'", escaped + "%")
    elif action:
        where("action = ?", action)
    if kind:
        where("kind = ?", kind)
    if after:
        where("id > ?", after)
    sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM {TABLE}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id"
    if limit is not None:
        args.append(limit)
        sql += f" LIMIT ${len(args)}"
    return sql, args


def as_dict(row: Mapping[str, Any] | asyncpg.Record) -> dict[str, Any]:
    out = {c: row[c] for c in EXPORT_COLUMNS}
    out["occurred_at"] = row["occurred_at"].isoformat()
    for name in ("roles", "countries", "municipalities"):
        out[name] = list(row[name] or [])
    return out


CSV_HEADER = EXPORT_COLUMNS


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        text = " ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    # A spreadsheet must not run a user agent (or any other caller-chosen text) as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(items: Iterable[Mapping[str, Any]], header: bool = True) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    for item in items:
        writer.writerow([_cell(item[c]) for c in CSV_HEADER])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if header and buffer.getvalue():
        yield buffer.getvalue()


class AuditEntry(BaseModel):
    id: int
    occurred_at: datetime
    service: str
    kind: Literal["request", "change"]
    subject: str | None
    auth: str
    roles: list[str]
    countries: list[str]
    municipalities: list[str]
    action: str
    resource: dict[str, str]
    detail: dict[str, Any] | None
    status: int | None
    client_addr: str | None
    proxy_addr: str | None
    request_id: str | None
    trace_id: str | None
    user_agent: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_after: int | None = None


router = APIRouter(tags=["audit"])


@router.get(
    AUDIT_PATH,
    summary="The audit log of this service (admin): JSON, or CSV with format=csv or Accept: text/csv",
    response_model=AuditPage,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_audit(
    request: Request,
    since: datetime | None = Query(None, description="From this time (inclusive; UTC when no zone is given)"),
    until: datetime | None = Query(None, description="Before this time"),
    subject: str | None = Query(None, max_length=200, description="Exactly this subject"),
    action: str | None = Query(
        None, max_length=300, description="Exactly this action, or a prefix ending in * (POST /v1/partners*)"
    ),
    kind: Literal["request", "change"] | None = Query(None),
    after: int = Query(0, ge=0, description="Paging: rows with an id above this (the previous page's next_after)"),
    limit: int = Query(1000, ge=1, le=10_000),
    fmt: Literal["json", "csv"] | None = Query(None, alias="format", description="Default: from Accept, else json"),
    _: Principal = Depends(require("admin")),
) -> Any:
    writer: AuditWriter | None = getattr(request.app.state, "audit", None)
    if writer is not None:
        await writer.flush()  # what was just done is visible at once
    sql, args = query(since=since, until=until, subject=subject, action=action, kind=kind, after=after, limit=limit + 1)
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await conn.fetch(sql, *args)
    items = [as_dict(r) for r in rows[:limit]]
    next_after = items[-1]["id"] if len(rows) > limit else None
    headers = {"Link": f'<{request.url.include_query_params(after=next_after)}>; rel="next"'} if next_after else {}
    wants_csv = fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response("".join(csv_lines(items)), media_type="text/csv; charset=utf-8", headers=headers)
    return JSONResponse({"items": items, "next_after": next_after}, headers=headers)
