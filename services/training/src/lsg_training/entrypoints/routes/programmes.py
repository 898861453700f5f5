"""``/v1/programmes``: programme set-up (admin): modules and the completion rule."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from lsg_shared.deps import Admin, RuntimeDep
from lsg_shared.openapi import REPEAT
from lsg_training.application import programmes
from lsg_training.application.programmes import NewModule, NewProgramme
from lsg_training.domain.rules import CompletionRule
from lsg_training.entrypoints.schemas import CompletionRuleIn, ModuleIn, ProgrammeIn, module_out, programme_out

router = APIRouter(prefix="/v1", tags=["programmes"])


def _module(m: ModuleIn) -> NewModule:
    return NewModule(code=m.code, title=m.title.model_dump(), hours=m.hours, position=m.position)


def _rule(rule: CompletionRuleIn) -> CompletionRule:
    return CompletionRule.model_validate(rule.model_dump())


@router.post(
    "/programmes",
    status_code=201,
    summary="Create a programme (admin)",
    responses={200: {"description": "A repeat of the same request: the programme as it is"}},
)
async def create_programme(body: ProgrammeIn, rt: RuntimeDep, who: Admin, response: Response) -> dict[str, Any]:
    """Create a programme with its modules. Repeating the same request answers 200 with the same programme."""
    new = NewProgramme(
        id=body.id,
        code=body.code,
        title=body.title.model_dump(),
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        completion_rule=_rule(body.completion_rule),
        modules=[_module(m) for m in body.modules],
    )
    row, modules, created = await programmes.create_programme(rt.uow, new)
    if not created:
        response.status_code = 200
    return programme_out(row, modules)


@router.get("/programmes", summary="Programmes")
async def get_programmes(rt: RuntimeDep) -> list[dict[str, Any]]:
    return [programme_out(p, modules) for p, modules in await programmes.list_programmes(rt.uow)]


@router.get("/programmes/{programme_id}", summary="One programme with its modules")
async def get_programme(programme_id: str, rt: RuntimeDep) -> dict[str, Any]:
    row, modules = await programmes.get_programme(rt.uow, programme_id)
    return programme_out(row, modules)


@router.post("/programmes/{programme_id}/modules", status_code=201, summary="Add a module", responses=REPEAT)
async def add_module(
    programme_id: str, body: ModuleIn, rt: RuntimeDep, who: Admin, response: Response
) -> dict[str, Any]:
    row, created = await programmes.add_module(rt.uow, programme_id, _module(body))
    if not created:
        response.status_code = 200
    return module_out(row)


@router.get("/programmes/{programme_id}/modules", summary="Modules of a programme")
async def get_modules(programme_id: str, rt: RuntimeDep) -> list[dict[str, Any]]:
    return [module_out(m) for m in await programmes.list_modules(rt.uow, programme_id)]


@router.put("/programmes/{programme_id}/completion-rule", summary="Change the completion rule")
async def put_rule(programme_id: str, body: CompletionRuleIn, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    """Set when a participant has completed. Progress is recomputed at once: participants who now meet the rule
    get their (single) ``training.completed``; completions already told stand."""
    rule = _rule(body)
    events = await programmes.set_completion_rule(rt.uow, programme_id, rule)
    return {"completion_rule": rule.model_dump(exclude_none=True), "events": events}
