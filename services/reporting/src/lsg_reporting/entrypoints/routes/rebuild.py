"""Admin: rebuild every figure from the topics (in the background) and follow a rebuild's state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from lsg_reporting.application import rebuild
from lsg_shared.deps import Admin, RuntimeDep

router = APIRouter(prefix="/v1/admin/rebuild", tags=["admin"])


@router.post(
    "",
    status_code=202,
    summary="Rebuild every figure from the topics' beginning into fresh tables and swap them in",
)
async def start_rebuild(request: Request, rt: RuntimeDep, _: Admin) -> dict[str, Any]:
    runs: rebuild.RebuildRuns = request.app.state.rebuilds
    batch = getattr(rt.settings, "rebuild_batch", 5000)
    run_id = runs.start(rt.pool, rt.settings.kafka, request.app.state.extractor, batch=batch)
    return {"id": run_id, "status": "running", "href": f"/v1/admin/rebuild/{run_id}"}


@router.get("/{run_id}", summary="State of a rebuild")
async def rebuild_status(run_id: str, rt: RuntimeDep, _: Admin) -> dict[str, Any]:
    state = await rebuild.run_state(rt.uow, run_id)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in state.items()}
