"""The work plan: work packages, activities and deliverables with planned dates, the indicators linked to each
activity with their milestones and expected line, slippage flags, and the burn next to the output progress.

Public, like the indicator list: no person and no expenditure entry, only dates, codes, lv/ru/en names and
totals (the spending per partner is public in the IATI file already).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from lsg_reporting.application import workplan
from lsg_reporting.entrypoints.routes import CatalogueDep, WorkPlanDep
from lsg_reporting.entrypoints.schemas import as_of_param
from lsg_shared.deps import RuntimeDep
from lsg_shared.inputs import SafeText

router = APIRouter(prefix="/v1", tags=["workplan"])
PUBLIC_READS = ("GET /v1/workplan",)


@router.get("/workplan", summary="The work plan on a day: dates, statuses, expected lines, slippage, burn")
async def get_workplan(
    catalogue: CatalogueDep,
    plan: WorkPlanDep,
    rt: RuntimeDep,
    as_of: SafeText | None = Query(None, description="Date (or time) the plan is judged on (default: now)"),
) -> dict[str, Any]:
    return await workplan.view(rt.uow, catalogue, plan, as_of_param(as_of))
