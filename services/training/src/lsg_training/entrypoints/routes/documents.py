"""Documents: completion certificates (PDF) and the attendance sheet (XLSX)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from lsg_shared.deps import RuntimeDep, Viewer
from lsg_training.application import documents
from lsg_training.entrypoints.routes.params import Lang, settings_of

router = APIRouter(prefix="/v1", tags=["documents"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/programmes/{programme_id}/participants/{participant_id}/certificate.pdf",
    summary="Completion certificate (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def certificate(
    programme_id: str, participant_id: uuid.UUID, rt: RuntimeDep, who: Viewer, lang: Lang = "lv"
) -> Response:
    filename, pdf = await documents.certificate(
        rt.uow, who, programme_id, participant_id, lang, settings_of(rt).font_path()
    )
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/programmes/{programme_id}/attendance.xlsx",
    summary="Programme attendance sheet (XLSX) for the project report",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def attendance_sheet(programme_id: str, rt: RuntimeDep, who: Viewer, lang: Lang = "lv") -> Response:
    filename, body = await documents.attendance_sheet(rt.uow, who, programme_id, lang)
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
