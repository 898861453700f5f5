"""The programme progress report as XLSX and CSV, and the results as IATI 2.03 XML (open to anyone)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query
from fastapi.responses import Response

from lsg_reporting.adapters import documents
from lsg_reporting.application import iati, reports
from lsg_reporting.domain.periods import day_of
from lsg_reporting.entrypoints.routes import CatalogueDep
from lsg_reporting.entrypoints.schemas import as_of_param
from lsg_shared.deps import RuntimeDep
from lsg_shared.inputs import SafeText

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/v1/reports", tags=["reports"])
PUBLIC_READS = ("GET /v1/reports/progress.xlsx", "GET /v1/reports/progress.csv", "GET /v1/reports/iati.xml")
AS_OF = Query(None, description="The figures as they stood on this date (or time)")


@router.get(
    "/progress.xlsx",
    summary="Programme progress report (XLSX)",
    response_class=Response,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def progress_xlsx(catalogue: CatalogueDep, rt: RuntimeDep, as_of: SafeText | None = AS_OF) -> Response:
    moment = as_of_param(as_of)
    items = await reports.progress(rt.uow, catalogue, moment)
    on = day_of(moment)
    return Response(
        documents.to_xlsx(catalogue, items, on),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="lsg-progress-{on.isoformat()}.xlsx"'},
    )


@router.get(
    "/progress.csv",
    summary="Programme progress report (CSV, UTF-8)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def progress_csv(catalogue: CatalogueDep, rt: RuntimeDep, as_of: SafeText | None = AS_OF) -> Response:
    items = await reports.progress(rt.uow, catalogue, as_of_param(as_of))
    return Response(
        documents.to_csv(items),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lsg-progress.csv"'},
    )


@router.get(
    "/iati.xml",
    summary="The programme as an IATI 2.03 activity: organisations, countries, budget, transactions, results",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def iati_xml(catalogue: CatalogueDep, rt: RuntimeDep, as_of: SafeText | None = AS_OF) -> Response:
    activity = await iati.activity(rt.uow, catalogue, as_of_param(as_of))
    return Response(documents.to_iati(catalogue, activity, datetime.now(UTC)), media_type="application/xml")
