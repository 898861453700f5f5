"""The budget: the version in force (viewer), its history (viewer), a new version = a reallocation (admin:
whoever posts it is recorded as its approver, with the reason)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from lsg_reporting.application import budget
from lsg_reporting.entrypoints.schemas import BudgetVersionIn, budget_line_of
from lsg_shared.deps import Admin, RuntimeDep, Viewer

router = APIRouter(prefix="/v1/budget", tags=["money"])


@router.get("", summary="The budget in force (or one version): lines, totals, co-financing split")
async def get_budget(
    rt: RuntimeDep, _: Viewer, version: int | None = Query(None, ge=1, le=1_000_000)
) -> dict[str, Any]:
    return await budget.current(rt.uow, version)


@router.get("/versions", summary="Every budget version with its reason and approver")
async def list_versions(rt: RuntimeDep, _: Viewer) -> dict[str, Any]:
    return {"items": await budget.versions(rt.uow)}


@router.post("/versions", status_code=201, summary="A new budget version (initial budget or a reallocation)")
async def post_version(body: BudgetVersionIn, rt: RuntimeDep, principal: Admin) -> dict[str, Any]:
    return await budget.new_version(
        rt.uow, [budget_line_of(line) for line in body.lines], reason=body.reason, approved_by=principal.subject
    )
