"""``GET /v1/audit``: the audit log of this service, for admins, as JSON pages or CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from lsg_shared.audit.export import csv_lines
from lsg_shared.audit.model import AUDIT_PATH
from lsg_shared.audit.store import as_dict, query
from lsg_shared.audit.writer import AuditWriter
from lsg_shared.auth import Principal, require


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
