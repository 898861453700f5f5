"""Reporting periods and their reports: read (viewer), narrative and submission (editor), verification, return
and approval by the first-level controller (admin role: lsg_shared.auth has no custom roles); the report as JSON,
XLSX and PDF (an approved period answers its frozen bytes)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from lsg_reporting.application import period_reports
from lsg_reporting.application.period_reports import Renderers
from lsg_reporting.entrypoints.routes import CatalogueDep
from lsg_reporting.entrypoints.schemas import NarrativeIn
from lsg_shared.deps import Admin, Editor, RuntimeDep, Viewer

router = APIRouter(prefix="/v1/periods", tags=["period reports"])
PeriodId = Annotated[str, Path(pattern=r"^P[0-9]{1,2}$", description="Reporting period, e.g. P1")]


def _renderers(request: Request) -> Renderers:
    renderers: Renderers = request.app.state.report_renderers
    return renderers


RenderersDep = Annotated[Renderers, Depends(_renderers)]
MEDIA = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@router.get("", summary="The programme's reporting periods and the state of their reports")
async def list_periods(catalogue: CatalogueDep, rt: RuntimeDep, _: Viewer) -> dict[str, Any]:
    return {"items": await period_reports.listing(rt.uow, catalogue)}


async def _file(
    rt: RuntimeDep, catalogue: CatalogueDep, renderers: Renderers, period_id: str, fmt: period_reports.Format
) -> Response:
    body, frozen = await period_reports.document(rt.uow, catalogue, renderers, period_id, fmt)
    headers = {"X-Report-Frozen": "true" if frozen else "false"}
    if fmt != "json":
        headers["Content-Disposition"] = f'attachment; filename="lsg-report-{period_id}.{fmt}"'
    return Response(body, media_type=MEDIA[fmt], headers=headers)


@router.get("/{period_id}/report", summary="The period report (JSON; frozen once approved)")
async def report_json(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, _: Viewer
) -> Response:
    return await _file(rt, catalogue, renderers, period_id, "json")


@router.get("/{period_id}/report.xlsx", summary="The period report (XLSX; frozen once approved)")
async def report_xlsx(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, _: Viewer
) -> Response:
    return await _file(rt, catalogue, renderers, period_id, "xlsx")


@router.get("/{period_id}/report.pdf", summary="The period report (PDF, lv/ru/en; frozen once approved)")
async def report_pdf(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, _: Viewer
) -> Response:
    return await _file(rt, catalogue, renderers, period_id, "pdf")


@router.put("/{period_id}/report/narrative", summary="Narrative per work package in lv/ru/en (draft only)")
async def put_narrative(
    period_id: PeriodId, body: NarrativeIn, catalogue: CatalogueDep, rt: RuntimeDep, _: Editor
) -> dict[str, Any]:
    await period_reports.set_narrative(
        rt.uow, catalogue, period_id, {wp: t.model_dump() for wp, t in body.work_packages.items()}
    )
    document, _frozen = await period_reports.document(rt.uow, catalogue, _none_renderers(), period_id, "json")
    narrative: dict[str, Any] = json.loads(document)["narrative"]
    return narrative


def _none_renderers() -> Renderers:
    def refuse(_: dict[str, Any]) -> bytes:
        raise AssertionError("not rendered")

    return Renderers(xlsx=refuse, pdf=refuse)


@router.post("/{period_id}/report/submit", summary="Submit the draft (report.submitted)")
async def submit(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, principal: Editor
) -> dict[str, Any]:
    return await period_reports.act(rt.uow, catalogue, renderers, period_id, "submit", by=principal.subject)


@router.post("/{period_id}/report/verification", summary="First-level control starts verifying the report")
async def start_verification(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, principal: Admin
) -> dict[str, Any]:
    return await period_reports.act(rt.uow, catalogue, renderers, period_id, "start_verification", by=principal.subject)


@router.post("/{period_id}/report/return", summary="Return the report to its authors (back to draft)")
async def give_back(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, principal: Admin
) -> dict[str, Any]:
    return await period_reports.act(rt.uow, catalogue, renderers, period_id, "return", by=principal.subject)


@router.post("/{period_id}/report/approve", summary="Approve: the period locks, its report freezes (report.approved)")
async def approve(
    period_id: PeriodId, catalogue: CatalogueDep, rt: RuntimeDep, renderers: RenderersDep, principal: Admin
) -> dict[str, Any]:
    return await period_reports.act(rt.uow, catalogue, renderers, period_id, "approve", by=principal.subject)
