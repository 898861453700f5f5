"""HTTP API under /v1.

Open to anyone (PUBLIC_READS): the indicator list, public (suppressed) breakdowns, the report exports.
Everything else names its role: raw breakdowns and sources `viewer`, deliverables `editor`, rebuild `admin`.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from lsg_events.geography import Place
from lsg_events.reporting import DeliverableRecorded
from lsg_reporting import report
from lsg_reporting.adapters import repository as repo
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.figures import ALL_DIMENSIONS, AREA_DIMENSIONS, Cell, persons_of, suppress, value_of
from lsg_reporting.domain.periods import parse_period
from lsg_reporting.rebuild import rebuild
from lsg_reporting.service import until_of
from lsg_shared import outbox
from lsg_shared.auth import Principal, ensure_scope, require
from lsg_shared.problems import Problem
from lsg_shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1")
PUBLIC_READS = (
    "GET /v1/indicators",
    "GET /v1/indicators/{code}",
    "GET /v1/reports/progress.xlsx",
    "GET /v1/reports/progress.csv",
    "GET /v1/reports/iati.xml",
)
BREAKDOWN_ALIASES = {"language": "tag", "module": "tag", "status": "tag", "area": "country", "none": "total"}
_AREA = re.compile(r"^(country|municipality|territory|settlement):([A-Za-z0-9._-]{1,32})$")


def catalogue_of(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def _bad(field: str, message: str) -> Problem:
    return Problem(
        422, "Invalid parameter", message, type_="validation-error", errors=[{"field": field, "message": message}]
    )


def _as_of(value: str | None) -> date | datetime | None:
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        raise _bad("as_of", f"{value!r} is not a date (yyyy-mm-dd) or an RFC 3339 time") from None


def _area(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    m = _AREA.match(value)
    if not m:
        raise _bad(
            "area",
            f"{value!r}: expected level:code, e.g. municipality:0001 (levels country, "
            "municipality, territory, settlement)",
        )
    return m.group(1), m.group(2)


async def _principal_if(request: Request, needed: bool) -> Principal | None:
    """The viewer behind a `raw=true` read (public reads need no token, raw cells do)."""
    if not needed:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token.strip() else None
    return await require("viewer")(request, credentials)


@router.get("/indicators", tags=["indicators"], summary="Every indicator with target, actual, progress and RAG")
async def list_indicators(
    request: Request,
    as_of: str | None = Query(None, description="Date (or time) the figures stood on"),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    catalogue = catalogue_of(request)
    moment = _as_of(as_of)
    async with rt.pool.acquire() as conn:
        items = await report.summaries(conn, catalogue, moment)
    return {
        "programme": catalogue.programme.model_dump(mode="json"),
        "as_of": (moment.isoformat() if moment else datetime.now(UTC).isoformat()),
        "indicators": [s.as_dict() for s in items],
    }


@router.get("/indicators/{code}", tags=["indicators"], summary="One indicator by period and breakdown")
async def get_indicator(
    request: Request,
    code: str,
    period: str = Query("programme", description="programme | year | quarter | month, or one yyyy, yyyyQn, yyyyMM"),
    breakdown: str = Query(
        "total",
        description="total | country | municipality | territory | settlement | role | "
        "gender | wave | tag (language, module, status)",
    ),
    as_of: str | None = Query(None, description="The figures as they stood on this date (or time)"),
    area: str | None = Query(None, description="Only this area, as level:code (e.g. municipality:0001)"),
    raw: bool = Query(False, description="Unsuppressed cells (needs the viewer role)"),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    catalogue = catalogue_of(request)
    indicator = catalogue.by_code().get(code)
    if indicator is None:
        raise Problem(404, "Not found", f"There is no indicator {code!r}.", type_="not-found")
    try:
        kind, key = parse_period(period)
    except ValueError as exc:
        raise _bad("period", str(exc)) from None
    dim = BREAKDOWN_ALIASES.get(breakdown, breakdown)
    allowed = AREA_DIMENSIONS if indicator.aggregation == "availability" else ALL_DIMENSIONS
    if dim not in allowed:
        raise _bad("breakdown", f"{breakdown!r}: expected one of {', '.join(allowed)}")
    principal = await _principal_if(request, raw)
    moment = _as_of(as_of)
    area_filter = _area(area)
    if principal is not None and area_filter is None and (principal.countries or principal.municipalities):
        pass  # a scoped viewer sees raw cells of its own areas only: filtered below
    async with rt.pool.acquire() as conn:
        cells = await repo.cells(
            conn, [indicator], until=until_of(moment), period_kinds=[kind], dims=[dim], period=key, area=area_filter
        )
        names = await repo.area_names(conn, dim) if dim in AREA_DIMENSIONS[1:] else {}
    cells.sort(key=lambda c: (c.period, c.parent, c.dim_value))
    if principal is not None and (principal.countries or principal.municipalities):
        cells = [c for c in cells if _in_scope(principal, c)]
    if not raw:
        cells = suppress(indicator, cells)
    return {
        "code": indicator.code,
        "title": indicator.title.model_dump(),
        "unit": indicator.unit,
        "target": indicator.target,
        "period": period,
        "breakdown": dim,
        "as_of": moment.isoformat() if moment else None,
        "raw": raw,
        "cells": [_cell_json(indicator, c, names) for c in cells],
    }


def _in_scope(principal: Principal, cell: Cell) -> bool:
    if cell.dim == "country":
        return principal.may_act_in(cell.dim_value)
    if cell.dim == "municipality":
        return principal.may_act_in(cell.parent, cell.dim_value)
    return not principal.countries and not principal.municipalities


def _cell_json(indicator: Any, cell: Cell, names: dict[tuple[str, str], dict[str, str]]) -> dict[str, Any]:
    value = value_of(indicator, cell.num, cell.den)
    out: dict[str, Any] = {
        "period": cell.period,
        "key": cell.dim_value,
        "parent": cell.parent or None,
        "name": names.get((cell.dim, cell.dim_value)),
        "suppressed": cell.suppressed,
        "value": None if cell.suppressed or value is None else round(value, max(indicator.decimals, 0) + 4),
        "numerator": None if cell.suppressed else cell.num,
        "denominator": None if cell.suppressed or indicator.aggregation == "sum" else cell.den,
    }
    persons = persons_of(indicator, cell)
    if persons is not None:
        out["persons"] = None if cell.suppressed else persons
    return out


@router.get("/indicators/{code}/sources", tags=["indicators"], summary="The events behind a figure")
async def indicator_sources(
    request: Request,
    code: str,
    period: str = Query("programme"),
    area: str | None = Query(None),
    as_of: str | None = Query(None),
    include_superseded: bool = Query(False, description="Also list corrected (superseded) events"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    rt: Runtime = Depends(runtime),
    _: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    catalogue = catalogue_of(request)
    if code not in catalogue.by_code():
        raise Problem(404, "Not found", f"There is no indicator {code!r}.", type_="not-found")
    try:
        kind, key = parse_period(period)
    except ValueError as exc:
        raise _bad("period", str(exc)) from None
    moment = _as_of(as_of)
    async with rt.pool.acquire() as conn:
        total, rows = await repo.sources(
            conn,
            code,
            until=until_of(moment),
            period=key,
            period_kind=kind,
            area=_area(area),
            limit=limit,
            offset=offset,
            include_superseded=include_superseded,
        )
    return {
        "code": code,
        "period": period,
        "total": total,
        "items": [
            {**r, "event_time": r["event_time"].isoformat(), "valid_from": r["valid_from"].isoformat()} for r in rows
        ],
    }


# ---- reports -------------------------------------------------------------------------------------------
@router.get("/reports/progress.xlsx", tags=["reports"], summary="Programme progress report (XLSX)")
async def progress_xlsx(request: Request, as_of: str | None = None, rt: Runtime = Depends(runtime)) -> Response:
    catalogue = catalogue_of(request)
    moment = _as_of(as_of)
    async with rt.pool.acquire() as conn:
        items = await report.summaries(conn, catalogue, moment)
    on = (
        moment
        if isinstance(moment, date) and not isinstance(moment, datetime)
        else ((moment or datetime.now(UTC)).date())
    )
    body = report.to_xlsx(catalogue, items, on)
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="lsg-progress-{on.isoformat()}.xlsx"'},
    )


@router.get("/reports/progress.csv", tags=["reports"], summary="Programme progress report (CSV, UTF-8)")
async def progress_csv(request: Request, as_of: str | None = None, rt: Runtime = Depends(runtime)) -> Response:
    catalogue = catalogue_of(request)
    async with rt.pool.acquire() as conn:
        items = await report.summaries(conn, catalogue, _as_of(as_of))
    return Response(
        report.to_csv(items),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lsg-progress.csv"'},
    )


@router.get("/reports/iati.xml", tags=["reports"], summary="Results as IATI 2.03 result/indicator XML")
async def iati(request: Request, as_of: str | None = None, rt: Runtime = Depends(runtime)) -> Response:
    catalogue = catalogue_of(request)
    async with rt.pool.acquire() as conn:
        items = await report.summaries(conn, catalogue, _as_of(as_of))
    return Response(report.to_iati(catalogue, items, datetime.now(UTC)), media_type="application/xml")


# ---- deliverables --------------------------------------------------------------------------------------
class DeliverableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deliverable_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9._:-]{1,80}$", description="Your id; repeating a POST with it is a no-op"
    )
    kind: str = Field(description="Deliverable code from the catalogue, e.g. handbook_elders")
    quantity: int = Field(ge=0, le=1_000_000, description="Copies printed (documents and agreements: 1)")
    language: Literal["lv", "ru", "en", "multi"] = "multi"
    recorded_on: date
    evidence_url: HttpUrl | None = None
    place: Place | None = None


def _check_kind(catalogue: Catalogue, kind: str) -> None:
    kinds = sorted(catalogue.deliverable_kinds())
    if kind not in kinds:
        raise _bad("kind", f"{kind!r} is not a deliverable kind; expected one of {', '.join(kinds)}")


async def _record(
    rt: Runtime, body: DeliverableIn, deliverable_id: str, principal: Principal, *, correction: bool
) -> tuple[int, dict[str, Any]]:
    data = DeliverableRecorded(
        deliverable_id=deliverable_id,
        kind=body.kind,
        quantity=body.quantity,
        language=body.language,
        recorded_on=body.recorded_on,
        evidence_url=str(body.evidence_url) if body.evidence_url else None,
        place=body.place,
    )
    event = rt.event(data)
    place_json = body.place.model_dump(mode="json") if body.place else None
    async with rt.pool.acquire() as conn, conn.transaction():
        existing = await conn.fetchrow("SELECT * FROM deliverable WHERE deliverable_id = $1 FOR UPDATE", deliverable_id)
        if existing is not None:
            same = (
                existing["kind"],
                existing["quantity"],
                existing["language"],
                existing["recorded_on"],
                existing["evidence_url"],
                existing["place"],
            ) == (data.kind, data.quantity, data.language, data.recorded_on, data.evidence_url, place_json)
            if same:
                return 200, _deliverable_json(existing)
            if not correction:
                raise Problem(
                    409,
                    "Conflict",
                    f"Deliverable {deliverable_id!r} exists with other values; "
                    "PUT /v1/deliverables/{id} corrects it.",
                    type_="conflict",
                )
        row = await conn.fetchrow(
            """
            INSERT INTO deliverable (deliverable_id, kind, quantity, language, recorded_on, evidence_url, place,
                                     recorded_by, event_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
            ON CONFLICT (deliverable_id) DO UPDATE SET kind = EXCLUDED.kind, quantity = EXCLUDED.quantity,
                language = EXCLUDED.language, recorded_on = EXCLUDED.recorded_on,
                evidence_url = EXCLUDED.evidence_url, place = EXCLUDED.place, recorded_by = EXCLUDED.recorded_by,
                event_id = EXCLUDED.event_id, created_at = now()
            RETURNING *
            """,
            deliverable_id,
            data.kind,
            data.quantity,
            data.language,
            data.recorded_on,
            data.evidence_url,
            place_json,
            principal.subject,
            event.id,
        )
        await outbox.enqueue(conn, event)
    return (200 if existing is not None else 201), _deliverable_json(row)


def _deliverable_json(row: Any) -> dict[str, Any]:
    return {
        "deliverable_id": row["deliverable_id"],
        "kind": row["kind"],
        "quantity": row["quantity"],
        "language": row["language"],
        "recorded_on": row["recorded_on"].isoformat(),
        "evidence_url": row["evidence_url"],
        "place": row["place"],
        "recorded_by": row["recorded_by"],
        "event_id": row["event_id"],
        "recorded_at": row["created_at"].isoformat(),
    }


@router.post(
    "/deliverables",
    tags=["deliverables"],
    status_code=201,
    summary="Record a printed or published deliverable (deliverable.recorded)",
)
async def create_deliverable(
    request: Request,
    body: DeliverableIn,
    response: Response,
    rt: Runtime = Depends(runtime),
    principal: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    _check_kind(catalogue_of(request), body.kind)
    if body.place is not None:
        ensure_scope(principal, body.place.country, body.place.municipality.code if body.place.municipality else None)
    status, out = await _record(rt, body, body.deliverable_id or uuid.uuid4().hex, principal, correction=False)
    response.status_code = status
    return out


@router.put(
    "/deliverables/{deliverable_id}",
    tags=["deliverables"],
    summary="Correct a deliverable: the new record supersedes the earlier one in every figure",
)
async def correct_deliverable(
    request: Request,
    deliverable_id: str,
    body: DeliverableIn,
    rt: Runtime = Depends(runtime),
    principal: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    _check_kind(catalogue_of(request), body.kind)
    if body.deliverable_id is not None and body.deliverable_id != deliverable_id:
        raise _bad("deliverable_id", "differs from the id in the path")
    if body.place is not None:
        ensure_scope(principal, body.place.country, body.place.municipality.code if body.place.municipality else None)
    _, out = await _record(rt, body, deliverable_id, principal, correction=True)
    return out


@router.get("/deliverables", tags=["deliverables"], summary="Deliverables recorded through this API")
async def list_deliverables(
    rt: Runtime = Depends(runtime),
    _: Principal = Depends(require("viewer")),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM deliverable ORDER BY recorded_on, deliverable_id LIMIT $1 OFFSET $2", limit, offset
        )
    return {"items": [_deliverable_json(r) for r in rows]}


# ---- admin ---------------------------------------------------------------------------------------------
@router.post(
    "/admin/rebuild",
    tags=["admin"],
    status_code=202,
    summary="Rebuild every figure from the topics' beginning into fresh tables and swap them in",
)
async def start_rebuild(
    request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:12]
    settings = rt.settings
    task = asyncio.create_task(
        rebuild(
            rt.pool,
            settings.kafka,
            request.app.state.extractor,
            batch=getattr(settings, "rebuild_batch", 5000),
            run_id=run_id,
        )
    )
    request.app.state.rebuilds[run_id] = task
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
    return {"id": run_id, "status": "running", "href": f"/v1/admin/rebuild/{run_id}"}


@router.get("/admin/rebuild/{run_id}", tags=["admin"], summary="State of a rebuild")
async def rebuild_status(
    run_id: str, rt: Runtime = Depends(runtime), _: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM rebuild_run WHERE id = $1", run_id)
    if row is None:
        raise Problem(404, "Not found", f"There is no rebuild {run_id!r} (yet).", type_="not-found")
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(row).items()}
