"""Programme set-up: a programme with its modules and its completion rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lsg_shared.uow import UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application import progress, records
from lsg_training.application.errors import Conflict, Invalid
from lsg_training.domain.rules import CompletionRule


@dataclass(frozen=True, slots=True)
class NewModule:
    code: str
    title: dict[str, str]
    hours: Decimal
    position: int = 0

    def row(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "hours": self.hours, "position": self.position}


@dataclass(frozen=True, slots=True)
class NewProgramme:
    id: str | None
    code: str
    title: dict[str, str]
    starts_on: date | None
    ends_on: date | None
    completion_rule: CompletionRule
    modules: list[NewModule]


async def create_programme(uow: UnitOfWork, new: NewProgramme) -> tuple[Any, list[Any], bool]:
    """(programme, modules, created). Repeating the same set-up answers the same programme, not created."""
    unknown = new.completion_rule.unknown_modules(m.code for m in new.modules)
    if unknown:
        raise Invalid(
            "The completion rule names modules the programme does not have.",
            [
                {"field": "completion_rule.required_modules", "message": f"unknown module {m}", "value": m}
                for m in unknown
            ],
        )
    async with uow.begin() as tx:
        conn = tx.conn
        existing = await repo.get_programme_by_code(conn, new.code)
        if existing is None and new.id:
            existing = await repo.get_programme(conn, new.id)
        if existing is not None:
            modules = await repo.list_modules(conn, existing["id"])
            same = (
                existing["code"] == new.code
                and (new.id is None or existing["id"] == new.id)
                and existing["title"] == new.title
                and [(m["code"], float(m["hours"])) for m in modules]
                == [(m.code, float(m.hours)) for m in sorted(new.modules, key=lambda m: (m.position, m.code))]
            )
            if not same:
                raise Conflict(f"A different programme with code {new.code!r} or id exists.", "code")
            return existing, modules, False
        data: dict[str, Any] = {
            "id": new.id or records.new_id(),
            "code": new.code,
            "title": new.title,
            "starts_on": new.starts_on,
            "ends_on": new.ends_on,
            "completion_rule": new.completion_rule.model_dump(exclude_none=True),
        }
        await repo.insert_programme(conn, data)
        for m in new.modules:
            await repo.insert_module(conn, data["id"], m.row())
        row = await repo.get_programme(conn, data["id"])
        return row, await repo.list_modules(conn, data["id"]), True


async def list_programmes(uow: UnitOfWork) -> list[tuple[Any, list[Any]]]:
    async with uow.read() as conn:
        return [(p, await repo.list_modules(conn, p["id"])) for p in await repo.list_programmes(conn)]


async def get_programme(uow: UnitOfWork, programme_id: str) -> tuple[Any, list[Any]]:
    async with uow.read() as conn:
        row = await records.programme(conn, programme_id)
        return row, await repo.list_modules(conn, programme_id)


async def add_module(uow: UnitOfWork, programme_id: str, new: NewModule) -> tuple[Any, bool]:
    """(module, created). The same module again is not created; a different one with its code conflicts."""
    async with uow.begin() as tx:
        conn = tx.conn
        await records.programme(conn, programme_id, lock=True)
        existing = await repo.get_module(conn, programme_id, new.code)
        if existing is not None:
            if existing["title"] == new.title and float(existing["hours"]) == float(new.hours):
                return existing, False
            raise Conflict(f"Module {new.code!r} exists with other details.", "code")
        await repo.insert_module(conn, programme_id, new.row())
        # A new module changes what "all modules" means: recompute who is currently complete.
        await progress.recompute_programme(tx, programme_id)
        return await repo.get_module(conn, programme_id, new.code), True


async def list_modules(uow: UnitOfWork, programme_id: str) -> list[Any]:
    async with uow.read() as conn:
        await records.programme(conn, programme_id)
        return await repo.list_modules(conn, programme_id)


async def set_completion_rule(uow: UnitOfWork, programme_id: str, rule: CompletionRule) -> int:
    """Set the rule and recompute everyone's progress at once; answers how many events that told."""
    async with uow.begin() as tx:
        conn = tx.conn
        await records.programme(conn, programme_id, lock=True)
        modules = [m["code"] for m in await repo.list_modules(conn, programme_id)]
        unknown = rule.unknown_modules(modules)
        if unknown:
            raise Invalid(
                "The rule names modules the programme does not have.",
                [{"field": "required_modules", "message": f"unknown module {m}", "value": m} for m in unknown],
            )
        if rule.min_modules is not None and rule.min_modules > len(modules):
            raise Invalid(
                f"min_modules {rule.min_modules} is more than the programme's {len(modules)} modules.",
                [{"field": "min_modules", "message": "more than the modules", "value": rule.min_modules}],
            )
        await repo.set_completion_rule(conn, programme_id, rule.model_dump(exclude_none=True))
        events = await progress.recompute_programme(tx, programme_id)
    return len(events)
