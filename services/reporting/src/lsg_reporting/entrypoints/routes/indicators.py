"""Indicators: the list with target, actual, progress and RAG; one indicator by period and breakdown; the
events behind a figure.

Open to anyone: the list and public (suppressed) breakdowns. Raw breakdowns and sources need the viewer role.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from lsg_reporting.application import indicators, reports
from lsg_reporting.entrypoints.routes import CatalogueDep
from lsg_reporting.entrypoints.schemas import area_param, as_of_param, cell_json
from lsg_shared.auth import Principal, require
from lsg_shared.deps import Limit, Offset, RuntimeDep, Viewer
from lsg_shared.inputs import SafeText

router = APIRouter(prefix="/v1", tags=["indicators"])
PUBLIC_READS = ("GET /v1/indicators", "GET /v1/indicators/{code}")


async def _viewer_if(request: Request, needed: bool) -> Principal | None:
    """The viewer behind a `raw=true` read (public reads need no token, raw cells do)."""
    if not needed:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token.strip() else None
    return await require("viewer")(request, credentials)


@router.get("/indicators", summary="Every indicator with target, actual, progress and RAG")
async def list_indicators(
    catalogue: CatalogueDep,
    rt: RuntimeDep,
    as_of: SafeText | None = Query(None, description="Date (or time) the figures stood on"),
) -> dict[str, Any]:
    moment = as_of_param(as_of)
    items = await reports.progress(rt.uow, catalogue, moment)
    return {
        "programme": catalogue.programme.model_dump(mode="json"),
        "as_of": (moment.isoformat() if moment else datetime.now(UTC).isoformat()),
        "indicators": [s.as_dict() for s in items],
    }


@router.get("/indicators/{code}", summary="One indicator by period and breakdown")
async def get_indicator(
    request: Request,
    code: str,
    catalogue: CatalogueDep,
    rt: RuntimeDep,
    period: SafeText = Query(
        "programme", description="programme | year | quarter | month, or one yyyy, yyyyQn, yyyyMM"
    ),
    breakdown: SafeText = Query(
        "total",
        description="total | country | municipality | territory | settlement | role | "
        "gender | wave | tag (language, module, status)",
    ),
    as_of: SafeText | None = Query(None, description="The figures as they stood on this date (or time)"),
    area: SafeText | None = Query(None, description="Only this area, as level:code (e.g. municipality:0001)"),
    raw: bool = Query(False, description="Unsuppressed cells (needs the viewer role)"),
) -> dict[str, Any]:
    indicator = indicators.indicator_of(catalogue, code)
    period_key = indicators.period_of(period)
    dim = indicators.dimension_of(indicator, breakdown)
    viewer = await _viewer_if(request, raw)
    moment = as_of_param(as_of)
    found = await indicators.breakdown(
        rt.uow, indicator, period=period_key, dim=dim, as_of=moment, area=area_param(area), raw_for=viewer
    )
    return {
        "code": indicator.code,
        "title": indicator.title.model_dump(),
        "unit": indicator.unit,
        "target": indicator.target,
        "period": period,
        "breakdown": found.dim,
        "as_of": moment.isoformat() if moment else None,
        "raw": raw,
        "cells": [cell_json(indicator, c, found.names) for c in found.cells],
    }


@router.get("/indicators/{code}/sources", summary="The events behind a figure")
async def indicator_sources(
    code: str,
    catalogue: CatalogueDep,
    rt: RuntimeDep,
    _: Viewer,
    period: SafeText = Query("programme"),
    area: SafeText | None = Query(None),
    as_of: SafeText | None = Query(None),
    include_superseded: bool = Query(False, description="Also list corrected (superseded) events"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    indicators.indicator_of(catalogue, code)
    period_key = indicators.period_of(period)
    total, rows = await indicators.sources(
        rt.uow,
        code,
        period=period_key,
        as_of=as_of_param(as_of),
        area=area_param(area),
        include_superseded=include_superseded,
        limit=limit,
        offset=offset,
    )
    return {
        "code": code,
        "period": period,
        "total": total,
        "items": [
            {**r, "event_time": r["event_time"].isoformat(), "valid_from": r["valid_from"].isoformat()} for r in rows
        ],
    }
