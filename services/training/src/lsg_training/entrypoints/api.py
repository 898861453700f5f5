"""HTTP API of the training service, under ``/v1``.

Roles: programme set-up (programmes, modules, completion rule) needs ``admin``; every other write needs
``editor``; reads of personal data (participants, attendance, certificates, sheets) need ``viewer``.
Public reads (no token) are only those listed in ``PUBLIC_READS``: they show no person.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from lsg_events.geography import Place
from lsg_shared.auth import Principal, ensure_scope, require
from lsg_shared.db import Conn
from lsg_shared.problems import Problem
from lsg_shared.runtime import Runtime, runtime
from lsg_training import application as app_
from lsg_training.adapters import documents
from lsg_training.adapters import postgres as repo
from lsg_training.domain import sheets
from lsg_training.domain.rules import CompletionRule, attended_modules, pseudonym
from lsg_training.entrypoints.schemas import (
    ActivityIn,
    CheckIn,
    ModuleIn,
    OnError,
    ParticipantIds,
    ParticipantIn,
    ParticipantPatch,
    PlaceRef,
    ProgrammeIn,
    SessionIn,
)
from lsg_training.settings import TrainingSettings

router = APIRouter(prefix="/v1")

PUBLIC_READS = (
    "GET /v1/programmes",
    "GET /v1/programmes/{programme_id}",
    "GET /v1/programmes/{programme_id}/modules",
    "GET /v1/places",
)

Admin = Annotated[Principal, Depends(require("admin"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Rt = Annotated[Runtime, Depends(runtime)]
Lang = Annotated[str, Query(pattern="^(lv|ru|en)$", description="Language of headings and labels")]
OnErrorQ = Annotated[
    OnError,
    Query(description="reject (default): any bad row rejects the whole sheet; skip: import the good rows only"),
]
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_CSV_TYPES = (
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/csv",
    "application/octet-stream",
    "application/vnd.ms-excel",
    "",
)


def today() -> date:
    """The latest calendar date in the programme's time zones (Moscow, UTC+3): a session held today has happened."""
    return (datetime.now(UTC) + timedelta(hours=3)).date()


def _settings(rt: Runtime) -> TrainingSettings:
    settings = rt.settings
    assert isinstance(settings, TrainingSettings)
    return settings


def not_found(what: str, ident: object, field: str) -> Problem:
    return Problem(
        404,
        "Not found",
        f"No {what} {ident!s}.",
        type_="not-found",
        errors=[{"field": field, "message": f"unknown {what}", "value": str(ident)[:200]}],
    )


def conflict(detail: str, field: str, type_: str = "conflict") -> Problem:
    return Problem(409, "Conflict", detail, type_=type_, errors=[{"field": field, "message": detail}])


def invalid(detail: str, errors: list[dict[str, Any]], type_: str = "validation-error") -> Problem:
    return Problem(422, "Invalid request", detail, type_=type_, errors=errors)


def new_id() -> str:
    return uuid.uuid4().hex


async def _resolve_place(conn: Conn, ref: PlaceRef, *, country: str | None = None, field: str = "place_code") -> Place:
    if ref.place is not None:
        await _store_place(conn, ref.place)
        return ref.place
    if ref.place_code is None:
        if country is None:
            raise invalid("A place is required.", [{"field": "place", "message": "required"}])
        return Place(country=country)
    rows = await repo.get_place(conn, ref.place_code, country)
    if len(rows) != 1:
        why = "is not registered (POST /v1/places)" if not rows else "is ambiguous: give the country"
        raise invalid(
            f"place_code {ref.place_code!r} {why}.", [{"field": field, "message": why, "value": ref.place_code}]
        )
    return Place.model_validate(rows[0]["place"])


async def _store_place(conn: Conn, place: Place) -> None:
    unit = place.settlement or place.territory or place.municipality
    if unit is not None:
        await repo.upsert_place(conn, place.country, unit.code, place.model_dump(mode="json"))


def _municipality(place: dict[str, Any] | Place) -> str | None:
    p = place if isinstance(place, Place) else Place.model_validate(place)
    return p.municipality.code if p.municipality else None


# --- serialisers ----------------------------------------------------------------------------------------------------


def programme_out(row: Any, modules: Iterable[Any] = ()) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "title": row["title"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "completion_rule": row["completion_rule"],
        "modules": [module_out(m) for m in modules],
    }


def module_out(m: Any) -> dict[str, Any]:
    return {"code": m["code"], "title": m["title"], "hours": float(m["hours"]), "position": m["position"]}


def session_out(s: Any) -> dict[str, Any]:
    out = {
        "id": s["id"],
        "programme_id": s["programme_id"],
        "module_code": s["module_code"],
        "held_on": s["held_on"],
        "place": s["place"],
        "trainers": s["trainers"],
        "language": s["language"],
        "closed": s["closed_at"] is not None,
    }
    if "attendees" in s:
        out["attendees"] = s["attendees"]
    return out


def participant_out(p: Any) -> dict[str, Any]:
    return {
        "id": str(p["id"]),
        "key": p["key"],
        "ref": p["ref"],
        "full_name": p["full_name"],
        "email": p["email"],
        "phone": p["phone"],
        "role": p["role"],
        "country": p["country"],
        "place": p["place"],
        "gender": p["gender"],
        "organisation": p["organisation"],
    }


def activity_out(a: Any, participants: int | None = None) -> dict[str, Any]:
    return {
        "id": a["id"],
        "kind": a["kind"],
        "title": a["title"],
        "starts_on": a["starts_on"],
        "ends_on": a["ends_on"],
        "place": a["place"],
        "programme_id": a["programme_id"],
        "held": a["held_at"] is not None,
        "participants": participants if participants is not None else a.get("participants"),
    }


# --- places ---------------------------------------------------------------------------------------------------------


@router.post("/places", status_code=201, tags=["places"], summary="Register a place of the shared geography")
async def create_place(place: Place, rt: Rt, who: Editor) -> dict[str, Any]:
    """Register a place so sessions, participants and sheets can name it by its deepest unit's code."""
    unit = place.settlement or place.territory or place.municipality
    if unit is None:
        raise invalid("A place needs at least a municipality.", [{"field": "municipality", "message": "required"}])
    ensure_scope(who, place.country, _municipality(place))
    async with rt.pool.acquire() as conn:
        await _store_place(conn, place)
    return {"country": place.country, "code": unit.code, "place": place.model_dump(mode="json")}


@router.get("/places", tags=["places"], summary="Registered places")
async def get_places(rt: Rt) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return [{"country": r["country"], "code": r["code"], "place": r["place"]} for r in await repo.list_places(conn)]


# --- programmes and modules (admin) ---------------------------------------------------------------------------------


@router.post("/programmes", status_code=201, tags=["programmes"], summary="Create a programme (admin)")
async def create_programme(body: ProgrammeIn, rt: Rt, who: Admin, response: Response) -> dict[str, Any]:
    """Create a programme with its modules. Repeating the same request answers 200 with the same programme."""
    unknown = body.completion_rule.unknown_modules(m.code for m in body.modules)
    if unknown:
        raise invalid(
            "The completion rule names modules the programme does not have.",
            [
                {"field": "completion_rule.required_modules", "message": f"unknown module {m}", "value": m}
                for m in unknown
            ],
        )
    async with rt.pool.acquire() as conn, conn.transaction():
        existing = await repo.get_programme_by_code(conn, body.code)
        if existing is None and body.id:
            existing = await repo.get_programme(conn, body.id)
        if existing is not None:
            modules = await repo.list_modules(conn, existing["id"])
            same = (
                existing["code"] == body.code
                and (body.id is None or existing["id"] == body.id)
                and existing["title"] == body.title.model_dump()
                and [(m["code"], float(m["hours"])) for m in modules]
                == [(m.code, float(m.hours)) for m in sorted(body.modules, key=lambda m: (m.position, m.code))]
            )
            if not same:
                raise conflict(f"A different programme with code {body.code!r} or id exists.", "code")
            response.status_code = 200
            return programme_out(existing, modules)
        data: dict[str, Any] = {
            "id": body.id or new_id(),
            "code": body.code,
            "title": body.title.model_dump(),
            "starts_on": body.starts_on,
            "ends_on": body.ends_on,
            "completion_rule": body.completion_rule.model_dump(exclude_none=True),
        }
        await repo.insert_programme(conn, data)
        for m in body.modules:
            await repo.insert_module(conn, data["id"], _module_data(m))
        row = await repo.get_programme(conn, data["id"])
        return programme_out(row, await repo.list_modules(conn, data["id"]))


def _module_data(m: ModuleIn) -> dict[str, Any]:
    return {"code": m.code, "title": m.title.model_dump(), "hours": m.hours, "position": m.position}


@router.get("/programmes", tags=["programmes"], summary="Programmes")
async def get_programmes(rt: Rt) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return [programme_out(p, await repo.list_modules(conn, p["id"])) for p in await repo.list_programmes(conn)]


async def _programme(conn: Conn, programme_id: str, *, lock: bool = False) -> Any:
    row = await repo.get_programme(conn, programme_id, lock=lock)
    if row is None:
        raise not_found("programme", programme_id, "path:programme_id")
    return row


@router.get("/programmes/{programme_id}", tags=["programmes"], summary="One programme with its modules")
async def get_programme(programme_id: str, rt: Rt) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await _programme(conn, programme_id)
        return programme_out(row, await repo.list_modules(conn, programme_id))


@router.post("/programmes/{programme_id}/modules", status_code=201, tags=["programmes"], summary="Add a module")
async def add_module(programme_id: str, body: ModuleIn, rt: Rt, who: Admin, response: Response) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        await _programme(conn, programme_id, lock=True)
        existing = await repo.get_module(conn, programme_id, body.code)
        if existing is not None:
            if existing["title"] == body.title.model_dump() and float(existing["hours"]) == float(body.hours):
                response.status_code = 200
                return module_out(existing)
            raise conflict(f"Module {body.code!r} exists with other details.", "code")
        await repo.insert_module(conn, programme_id, _module_data(body))
        # A new module changes what "all modules" means: recompute who is currently complete.
        await app_.recompute_programme(conn, rt.event, programme_id)
        row = await repo.get_module(conn, programme_id, body.code)
        return module_out(row)


@router.get("/programmes/{programme_id}/modules", tags=["programmes"], summary="Modules of a programme")
async def get_modules(programme_id: str, rt: Rt) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        await _programme(conn, programme_id)
        return [module_out(m) for m in await repo.list_modules(conn, programme_id)]


@router.put("/programmes/{programme_id}/completion-rule", tags=["programmes"], summary="Change the completion rule")
async def put_rule(programme_id: str, body: CompletionRule, rt: Rt, who: Admin) -> dict[str, Any]:
    """Set when a participant has completed. Progress is recomputed at once: participants who now meet the rule
    get their (single) ``training.completed``; completions already told stand."""
    async with rt.pool.acquire() as conn, conn.transaction():
        await _programme(conn, programme_id, lock=True)
        modules = [m["code"] for m in await repo.list_modules(conn, programme_id)]
        unknown = body.unknown_modules(modules)
        if unknown:
            raise invalid(
                "The rule names modules the programme does not have.",
                [{"field": "required_modules", "message": f"unknown module {m}", "value": m} for m in unknown],
            )
        if body.min_modules is not None and body.min_modules > len(modules):
            raise invalid(
                f"min_modules {body.min_modules} is more than the programme's {len(modules)} modules.",
                [{"field": "min_modules", "message": "more than the modules", "value": body.min_modules}],
            )
        await repo.set_completion_rule(conn, programme_id, body.model_dump(exclude_none=True))
        events = await app_.recompute_programme(conn, rt.event, programme_id)
    return {"completion_rule": body.model_dump(exclude_none=True), "events": len(events)}


# --- sessions -------------------------------------------------------------------------------------------------------


@router.post("/programmes/{programme_id}/sessions", status_code=201, tags=["sessions"], summary="Schedule a session")
async def create_session(programme_id: str, body: SessionIn, rt: Rt, who: Editor, response: Response) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        await _programme(conn, programme_id, lock=True)
        if await repo.get_module(conn, programme_id, body.module_code) is None:
            raise invalid(
                f"The programme has no module {body.module_code!r}.",
                [{"field": "module_code", "message": "unknown module", "value": body.module_code}],
            )
        place = await _resolve_place(conn, body)
        ensure_scope(who, place.country, _municipality(place))
        data: dict[str, Any] = {
            "id": body.id or new_id(),
            "programme_id": programme_id,
            "module_code": body.module_code,
            "held_on": body.held_on,
            "place": place.model_dump(mode="json"),
            "trainers": [sheets.clean_text(t) for t in body.trainers],
            "language": body.language,
        }
        existing = await repo.get_session(conn, data["id"]) if body.id else None
        if existing is not None:
            same = all(existing[k] == data[k] for k in ("programme_id", "module_code", "held_on", "language"))
            if not same:
                raise conflict(f"Session {body.id!r} exists with other details.", "id")
            response.status_code = 200
            return session_out(existing)
        await repo.insert_session(conn, data)
        # A module with one more session is attended only by those present at that one too.
        await app_.recompute_programme(conn, rt.event, programme_id)
        return session_out(await repo.get_session(conn, data["id"]))


@router.get("/programmes/{programme_id}/sessions", tags=["sessions"], summary="Sessions of a programme")
async def get_sessions(programme_id: str, rt: Rt, who: Viewer) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        await _programme(conn, programme_id)
        return [session_out(s) for s in await repo.list_sessions(conn, programme_id)]


async def _session(conn: Conn, session_id: str, *, lock: bool = False) -> Any:
    row = await repo.get_session(conn, session_id, lock=lock)
    if row is None:
        raise not_found("session", session_id, "path:session_id")
    return row


@router.get("/sessions/{session_id}", tags=["sessions"], summary="One session")
async def get_session(session_id: str, rt: Rt, who: Viewer) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = dict(await _session(conn, session_id))
        row["attendees"] = await repo.count_present(conn, session_id)
        return session_out(row)


@router.post("/sessions/{session_id}/close", tags=["sessions"], summary="Close the sign-in: tell the session was held")
async def close_session(session_id: str, rt: Rt, who: Editor) -> dict[str, Any]:
    """Emits ``training.session.held`` once, with the number present. Repeating it changes nothing."""
    async with rt.pool.acquire() as conn, conn.transaction():
        session = await _session(conn, session_id, lock=True)
        ensure_scope(who, session["place"]["country"], _municipality(session["place"]))
        if session["held_on"] > today():
            raise conflict(
                f"Session {session_id} is on {session['held_on']}: it has not happened yet.",
                "held_on",
                "session-not-held",
            )
        if session["closed_at"] is not None:
            return {"session_id": session_id, "closed": True, "changed": False}
        event = await app_.close_session(conn, rt.event, session)
    return {"session_id": session_id, "closed": True, "changed": True, "event_id": event.id}


# --- participants ---------------------------------------------------------------------------------------------------


def identity_of(ref: str | None, name: str, country: str, email: str | None, phone: str | None) -> str:
    """Who counts as the same person on a repeated registration: the ref, else name + country + a contact."""
    if ref:
        return f"ref:{ref}"
    contact = (email or "").strip().casefold() or "".join(ch for ch in (phone or "") if ch.isdigit())
    return f"name:{sheets.match_key(name)}|{country}|{contact}"


async def register(conn: Conn, rt: Runtime, body: ParticipantIn, place: Place) -> tuple[Any, bool]:
    """(row, created). A repeat of the same registration returns the existing participant."""
    name = sheets.clean_text(body.full_name)
    identity = identity_of(body.ref, name, body.country, body.email, body.phone)
    data: dict[str, Any] = {
        "ref": body.ref,
        "identity": identity,
        "full_name": name,
        "email": body.email,
        "phone": body.phone,
        "role": str(body.role),
        "country": body.country,
        "place": place.model_dump(mode="json"),
        "gender": body.gender,
        "organisation": sheets.clean_text(body.organisation) if body.organisation else None,
    }
    existing = await repo.get_participant_by_identity(conn, identity)
    if existing is not None:
        differs = [
            k
            for k in ("full_name", "role", "country", "gender", "organisation", "email", "phone")
            if existing[k] != data[k]
        ]
        if differs:
            raise conflict(
                f"Participant {body.ref or name!r} is registered with other {', '.join(differs)}; "
                f"use PATCH /v1/participants/{existing['id']} to correct details.",
                differs[0],
                "participant-exists",
            )
        return existing, False
    pid = uuid.uuid4()
    data.update(id=pid, key=pseudonym(_settings(rt).pseudonym_key(), str(pid)))
    row = await repo.insert_participant(conn, data)
    return row, row["id"] == pid


@router.post("/participants", status_code=201, tags=["participants"], summary="Register a participant")
async def create_participant(
    body: ParticipantIn,
    rt: Rt,
    who: Editor,
    response: Response,
    programme_id: Annotated[str | None, Query(description="Also enrol in this programme")] = None,
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        if programme_id:
            await _programme(conn, programme_id)
        place = await _resolve_place(conn, body, country=body.country)
        ensure_scope(who, body.country, _municipality(place))
        row, created = await register(conn, rt, body, place)
        if programme_id:
            await repo.enrol(conn, programme_id, [row["id"]])
            await app_.recompute(conn, rt.event, programme_id, row["id"])
    if not created:
        response.status_code = 200
    return participant_out(row)


@router.post(
    "/participants/import",
    tags=["participants"],
    summary="Register participants from a CSV sheet (lv/ru/en headings)",
    openapi_extra=CSV_BODY,
)
async def import_participants(
    request: Request,
    rt: Rt,
    who: Editor,
    programme_id: Annotated[str | None, Query(description="Also enrol everyone in this programme")] = None,
    on_error: OnErrorQ = "reject",
    encoding: Annotated[str | None, Query(max_length=32, description="Only for sheets not in UTF-8")] = None,
) -> JSONResponse:
    """Columns (any order; Latvian, Russian or English headings): ``name`` (Vārds, uzvārds / ФИО), ``role``
    (Loma / Роль), ``country`` (Valsts / Страна), optional ``ref``, ``place_code``, ``gender``, ``organisation``,
    ``email``, ``phone``. Row numbers are as in a spreadsheet (the heading is row 1)."""
    text = await _sheet_text(request, encoding)
    try:
        headings, rows = sheets.read(text)
        cols = sheets.layout(headings, sheets.PARTICIPANT_COLUMNS)
    except sheets.SheetError as exc:
        raise _sheet_problem(exc) from exc
    async with rt.pool.acquire() as conn, conn.transaction():
        if programme_id:
            await _programme(conn, programme_id)
        errors: list[sheets.RowError] = []
        good: list[tuple[int, ParticipantIn, Place]] = []
        seen: dict[str, int] = {}
        for number, cells in rows:
            parsed = await _participant_row(conn, number, cells, cols, errors)
            if parsed is None:
                continue
            body, place = parsed
            if not who.may_act_in(body.country, _municipality(place)):
                errors.append(
                    sheets.RowError(number, "country", "your token may not act in this country/area", body.country)
                )
                continue
            ident = identity_of(body.ref, sheets.clean_text(body.full_name), body.country, body.email, body.phone)
            if ident in seen:
                errors.append(sheets.RowError(number, "name", f"the same person as row {seen[ident]}"))
                continue
            seen[ident] = number
            good.append((number, body, place))
        if errors and on_error == "reject":
            raise _rows_problem(errors, len(rows))
        created = unchanged = 0
        ids: list[uuid.UUID] = []
        for number, body, place in good:
            try:
                async with conn.transaction():  # a savepoint: a conflicting row is reported, the rest go on
                    row, was_created = await register(conn, rt, body, place)
            except Problem as exc:
                errors.append(sheets.RowError(number, "name", exc.detail or exc.title))
                continue
            created += was_created
            unchanged += not was_created
            ids.append(row["id"])
        if errors and on_error == "reject":
            raise _rows_problem(errors, len(rows))
        enrolled = 0
        if programme_id and ids:
            enrolled = await repo.enrol(conn, programme_id, ids)
            await app_.recompute_many(conn, rt.event, programme_id, ids)
    return JSONResponse(
        {
            "rows": len(rows),
            "created": created,
            "unchanged": unchanged,
            "enrolled": enrolled,
            "participant_ids": [str(i) for i in ids],
            "rejected": [e.as_dict() for e in sorted(errors, key=lambda e: e.row)],
        },
        status_code=200,
    )


async def _participant_row(
    conn: Conn, number: int, cells: list[str], cols: sheets.Layout, errors: list[sheets.RowError]
) -> tuple[ParticipantIn, Place] | None:
    before = len(errors)

    def cell(name: str) -> str:
        return sheets.clean_text(cols.get(cells, name) or "")

    name = cell("name")
    if not name:
        errors.append(sheets.RowError(number, "name", "empty"))
    elif len(name) > 200:
        errors.append(sheets.RowError(number, "name", "longer than 200 characters"))
    role = sheets.parse_role(cell("role"))
    if role is None:
        errors.append(
            sheets.RowError(number, "role", f"unknown role; expected one of {sheets.ROLE_CHOICES}", cell("role"))
        )
    country = sheets.parse_country(cell("country"))
    if country is None:
        errors.append(sheets.RowError(number, "country", "expected LV or RU", cell("country")))
    gender = sheets.parse_gender(cell("gender"))
    if gender is None:
        errors.append(sheets.RowError(number, "gender", "expected female, male, other or blank", cell("gender")))
    place: Place | None = None
    if country is not None and cell("place_code"):
        found = await repo.get_place(conn, cell("place_code"), country)
        if not found:
            errors.append(
                sheets.RowError(number, "place_code", "no such place registered in " + country, cell("place_code"))
            )
        else:
            place = Place.model_validate(found[0]["place"])
    if len(errors) > before:
        return None
    try:
        body = ParticipantIn(
            ref=cell("ref") or None,
            full_name=name,
            email=cell("email") or None,
            phone=cell("phone") or None,
            role=role,
            country=country,
            gender=gender,
            organisation=cell("organisation") or None,
        )
    except ValueError as exc:
        for err in getattr(exc, "errors", lambda: [])():
            field = ".".join(str(p) for p in err.get("loc", ())) or "row"
            errors.append(sheets.RowError(number, field, err.get("msg", "invalid"), str(err.get("input", ""))[:200]))
        return None
    return body, place or Place(country=country)


@router.get("/participants", tags=["participants"], summary="Participants (personal data: viewer)")
async def get_participants(
    rt: Rt,
    who: Viewer,
    programme_id: str | None = None,
    country: Annotated[str | None, Query(pattern="^(LV|RU)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        rows = await repo.list_participants(
            conn, programme_id=programme_id, country=country, limit=limit, offset=offset
        )
    return [participant_out(r) for r in rows if who.may_act_in(r["country"], _municipality(r["place"]))]


async def _participant(conn: Conn, participant_id: uuid.UUID, field: str = "path:participant_id") -> Any:
    row = await repo.get_participant(conn, participant_id)
    if row is None:
        raise not_found("participant", participant_id, field)
    return row


@router.get("/participants/{participant_id}", tags=["participants"], summary="One participant")
async def get_participant(participant_id: uuid.UUID, rt: Rt, who: Viewer) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await _participant(conn, participant_id)
    ensure_scope(who, row["country"], _municipality(row["place"]))
    return participant_out(row)


@router.patch("/participants/{participant_id}", tags=["participants"], summary="Correct a participant's details")
async def patch_participant(participant_id: uuid.UUID, body: ParticipantPatch, rt: Rt, who: Editor) -> dict[str, Any]:
    """Corrections apply to events told from now on; events already told are not rewritten."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise invalid("Nothing to change.", [{"field": "body", "message": "no field given"}])
    for k, v in list(changes.items()):
        if v is None and k in ("full_name", "role", "gender"):
            raise invalid(f"{k} cannot be null.", [{"field": k, "message": "required"}])
        if isinstance(v, str) and k in ("full_name", "organisation"):
            changes[k] = sheets.clean_text(v)
        if k == "role" and v is not None:
            changes[k] = str(v)
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _participant(conn, participant_id)
        ensure_scope(who, row["country"], _municipality(row["place"]))
        if row["ref"] is None and ({"full_name", "email", "phone"} & set(changes)):
            merged = {**dict(row), **changes}
            changes["identity"] = identity_of(
                None, merged["full_name"], row["country"], merged["email"], merged["phone"]
            )
        try:
            async with conn.transaction():
                row = await repo.update_participant(conn, participant_id, changes)
        except asyncpg.UniqueViolationError as exc:
            raise conflict("Another participant has the same name and contact.", "full_name") from exc
    return participant_out(row)


@router.post("/programmes/{programme_id}/enrolments", tags=["participants"], summary="Enrol participants")
async def enrol(programme_id: str, body: ParticipantIds, rt: Rt, who: Editor) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        await _programme(conn, programme_id)
        found = await repo.participants_by_ids(conn, body.participant_ids)
        missing = [
            {"field": f"participant_ids.{i}", "message": "unknown participant", "value": str(p)}
            for i, p in enumerate(body.participant_ids)
            if p not in found
        ]
        if missing:
            raise invalid(
                f"{len(missing)} unknown participant(s); nothing was enrolled.", missing, "unknown-participant"
            )
        for p in found.values():
            ensure_scope(who, p["country"], _municipality(p["place"]))
        added = await repo.enrol(conn, programme_id, list(found))
        events = await app_.recompute_many(conn, rt.event, programme_id, found)
    return {"enrolled": added, "already": len(found) - added, "events": len(events)}


@router.get("/programmes/{programme_id}/participants", tags=["participants"], summary="Enrolled participants")
async def enrolled(programme_id: str, rt: Rt, who: Viewer) -> list[dict[str, Any]]:
    """Each enrolled participant with progress: modules attended, currently complete, date first completed."""
    async with rt.pool.acquire() as conn:
        await _programme(conn, programme_id)
        rows = await repo.enrolled_participants(conn, programme_id)
        status = await repo.programme_module_status(conn, programme_id)
    attended: dict[uuid.UUID, list[str]] = {}
    for s in status:
        if s["attended"]:
            attended.setdefault(s["participant_id"], []).append(s["module_code"])
    return [
        {
            **participant_out(r),
            "modules_attended": sorted(attended.get(r["id"], [])),
            "currently_complete": r["currently_complete"],
            "completed_on": r["completed_on"],
        }
        for r in rows
        if who.may_act_in(r["country"], _municipality(r["place"]))
    ]


# --- attendance -----------------------------------------------------------------------------------------------------


async def _check_in(
    conn: Conn, rt: Runtime, session: Any, participant_id: uuid.UUID, present: bool, source: str
) -> tuple[str, int]:
    outcome = await repo.record_attendance(conn, session["id"], participant_id, present, source)
    events = []
    if outcome != "unchanged":
        events = await app_.recompute(conn, rt.event, session["programme_id"], participant_id)
    return outcome, len(events)


def _not_happened(session: Any) -> str:
    return f"session {session['id']} ({session['module_code']}, {session['held_on']}) has not happened yet"


@router.post("/sessions/{session_id}/attendance", tags=["attendance"], summary="Check in (or correct) one participant")
async def check_in(session_id: str, body: CheckIn, rt: Rt, who: Editor, response: Response) -> dict[str, Any]:
    """Record one participant present (``present: true``, the default) or absent (a correction). The same
    check-in twice is one record (200, ``changed: false``); a new record answers 201."""
    async with rt.pool.acquire() as conn, conn.transaction():
        session = await _session(conn, session_id)
        ensure_scope(who, session["place"]["country"], _municipality(session["place"]))
        if session["held_on"] > today():
            raise invalid(
                _not_happened(session).capitalize() + ".",
                [{"field": "path:session_id", "message": _not_happened(session)}],
                "session-not-held",
            )
        if body.participant_id is not None:
            participant = await repo.get_participant(conn, body.participant_id)
            field, value = "participant_id", str(body.participant_id)
        else:
            participant = await repo.get_participant_by_ref(conn, body.ref or "")
            field, value = "ref", body.ref or ""
        if participant is None:
            raise invalid(
                f"Unknown participant {value}.",
                [{"field": field, "message": "unknown participant", "value": value}],
                "unknown-participant",
            )
        if await repo.lock_enrolment(conn, session["programme_id"], participant["id"]) is None:
            raise invalid(
                f"Participant {value} is not enrolled in programme {session['programme_id']}.",
                [{"field": field, "message": "not enrolled in the session's programme", "value": value}],
                "not-enrolled",
            )
        outcome, events = await _check_in(conn, rt, session, participant["id"], body.present, "check-in")
    response.status_code = 201 if outcome == "created" else 200
    return {
        "session_id": session_id,
        "participant_id": str(participant["id"]),
        "present": body.present,
        "changed": outcome != "unchanged",
        "events": events,
    }


@router.delete(
    "/sessions/{session_id}/attendance/{participant_id}",
    tags=["attendance"],
    summary="Withdraw an attendance record (a correction)",
)
async def withdraw(session_id: str, participant_id: uuid.UUID, rt: Rt, who: Editor) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        session = await _session(conn, session_id)
        ensure_scope(who, session["place"]["country"], _municipality(session["place"]))
        await _participant(conn, participant_id)
        await repo.lock_enrolment(conn, session["programme_id"], participant_id)  # same lock order as check-in
        deleted = await repo.delete_attendance(conn, session_id, participant_id)
        events = await app_.recompute(conn, rt.event, session["programme_id"], participant_id) if deleted else []
    return {"session_id": session_id, "participant_id": str(participant_id), "changed": deleted, "events": len(events)}


@router.get("/sessions/{session_id}/attendance", tags=["attendance"], summary="Attendance of a session")
async def get_attendance(session_id: str, rt: Rt, who: Viewer) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        await _session(conn, session_id)
        rows = await repo.session_attendance(conn, session_id)
    return [
        {
            "participant_id": str(r["participant_id"]),
            "full_name": r["full_name"],
            "ref": r["ref"],
            "present": r["present"],
            "source": r["source"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]


async def _sheet_text(request: Request, encoding: str | None) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _CSV_TYPES:
        raise Problem(
            415,
            "Unsupported media type",
            f"Send the sheet itself as the body with Content-Type text/csv (got {media!r}); "
            "e.g. curl --data-binary @sheet.csv -H 'Content-Type: text/csv'.",
            type_="unsupported-media-type",
            errors=[{"field": "header:content-type", "message": "expected text/csv", "value": media}],
        )
    try:
        return sheets.decode(await request.body(), encoding)
    except sheets.SheetError as exc:
        raise _sheet_problem(exc) from exc


def _sheet_problem(exc: sheets.SheetError) -> Problem:
    return Problem(422, "Unreadable sheet", exc.message, type_="unreadable-sheet", errors=exc.errors)


def _rows_problem(errors: list[sheets.RowError], total: int) -> Problem:
    rows = sorted({e.row for e in errors})
    listed = ", ".join(str(r) for r in rows[:20]) + (" …" if len(rows) > 20 else "")
    return Problem(
        422,
        "Invalid rows",
        f"{len(rows)} of {total} row(s) are invalid (rows {listed}); nothing was imported. "
        "Fix them, or send ?on_error=skip to import the good rows only.",
        type_="invalid-rows",
        errors=[e.as_dict() for e in sorted(errors, key=lambda e: (e.row, e.field))],
    )


_SESSION_COLUMNS = (
    sheets.Column(
        "session", ("session id", "session_id", "nodarbība", "nodarbības id", "сессия", "занятие", "id занятия")
    ),
    sheets.Column("module", ("module code", "modulis", "moduļa kods", "модуль", "код модуля")),
    sheets.Column("date", ("datums", "дата")),
)


def _parse_date(value: str) -> date | None:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


async def _import_signin(
    conn: Conn, rt: Runtime, who: Principal, programme_id: str, fixed: Any | None, text: str, on_error: str
) -> dict[str, Any]:
    try:
        headings, rows = sheets.read(text)
        cols = sheets.layout(headings, sheets.SIGNIN_COLUMNS, one_of=("participant_id", "ref", "name"))
        scols = sheets.layout(headings, _SESSION_COLUMNS)
    except sheets.SheetError as exc:
        raise _sheet_problem(exc) from exc
    if fixed is None and "session" not in scols.index and not {"module", "date"} <= set(scols.index):
        raise _sheet_problem(
            sheets.SheetError(
                "A programme sheet needs a session column, or module and date columns.",
                [{"field": "session", "row": 1, "message": "no session (or module + date) column"}],
            )
        )
    sessions = {s["id"]: s for s in await repo.list_sessions(conn, programme_id)}
    by_module_date: dict[tuple[str, date], list[Any]] = {}
    for s in sessions.values():
        by_module_date.setdefault((sheets.match_key(s["module_code"]), s["held_on"]), []).append(s)
    people = await repo.enrolled_participants(conn, programme_id)
    by_id = {p["id"]: p for p in people}
    by_ref = {p["ref"]: p for p in people if p["ref"]}
    by_name: dict[str, list[Any]] = {}
    for p in people:
        by_name.setdefault(sheets.match_key(p["full_name"]), []).append(p)
    errors: list[sheets.RowError] = []
    wanted: dict[tuple[str, uuid.UUID], tuple[int, bool]] = {}
    day = today()
    for number, cells in rows:
        before = len(errors)
        # Which session?
        session = fixed
        if session is None:
            sid = sheets.clean_text(scols.get(cells, "session") or "")
            if sid:
                session = sessions.get(sid)
                if session is None:
                    errors.append(sheets.RowError(number, "session", "no such session in the programme", sid))
            else:
                module = sheets.match_key(scols.get(cells, "module") or "")
                held = _parse_date(scols.get(cells, "date") or "")
                if not module or held is None:
                    errors.append(
                        sheets.RowError(
                            number,
                            "date" if module else "module",
                            "give the session, or the module and the date (YYYY-MM-DD)",
                            scols.get(cells, "date"),
                        )
                    )
                else:
                    matches = by_module_date.get((module, held), [])
                    if len(matches) != 1:
                        why = "no session of this module on this date" if not matches else "several sessions match"
                        errors.append(sheets.RowError(number, "session", why, f"{module} {held}"))
                    else:
                        session = matches[0]
        if session is not None and session["held_on"] > day:
            errors.append(sheets.RowError(number, "session", _not_happened(session), session["id"]))
        if session is not None and not who.may_act_in(session["place"]["country"], _municipality(session["place"])):
            errors.append(sheets.RowError(number, "session", "your token may not act where this session was held"))
        # Who?
        person = None
        raw_id = sheets.clean_text(cols.get(cells, "participant_id") or "")
        raw_ref = sheets.clean_text(cols.get(cells, "ref") or "")
        raw_name = sheets.clean_text(cols.get(cells, "name") or "")
        if raw_id:
            try:
                person = by_id.get(uuid.UUID(raw_id))
            except ValueError:
                person = None
            if person is None:
                errors.append(sheets.RowError(number, "participant_id", "unknown or not enrolled participant", raw_id))
        elif raw_ref:
            person = by_ref.get(raw_ref)
            if person is None:
                errors.append(sheets.RowError(number, "ref", "unknown or not enrolled participant", raw_ref))
        elif raw_name:
            found = by_name.get(sheets.match_key(raw_name), [])
            if len(found) == 1:
                person = found[0]
            elif not found:
                errors.append(sheets.RowError(number, "name", "no enrolled participant has this name", raw_name))
            else:
                errors.append(
                    sheets.RowError(
                        number,
                        "name",
                        f"{len(found)} enrolled participants share this name; add a ref or participant_id column",
                        raw_name,
                    )
                )
        else:
            errors.append(sheets.RowError(number, "name", "empty: who is this row?"))
        # Present?
        present: bool | None = True
        if "present" in cols.index:
            present = sheets.parse_present(cols.get(cells, "present") or "")
            if present is None:
                errors.append(
                    sheets.RowError(
                        number, "present", "expected yes/no (jā/nē, да/нет, 1/0)", cols.get(cells, "present")
                    )
                )
        elif "signature" in cols.index:
            present = bool((cols.get(cells, "signature") or "").strip())
        if len(errors) > before or session is None or person is None or present is None:
            continue
        key = (session["id"], person["id"])
        if key in wanted and wanted[key][1] != present:
            errors.append(
                sheets.RowError(number, "present", f"contradicts row {wanted[key][0]} for the same person and session")
            )
            continue
        wanted.setdefault(key, (number, present))
    if errors and on_error == "reject":
        raise _rows_problem(errors, len(rows))
    # Lock the enrolments first, in one order, as a check-in does: no deadlock with concurrent writers.
    for participant_id in sorted({p for (_s, p) in wanted}):
        await repo.lock_enrolment(conn, programme_id, participant_id)
    counts = {"created": 0, "changed": 0, "unchanged": 0}
    touched: set[uuid.UUID] = set()
    for (session_id, participant_id), (_number, present) in sorted(wanted.items(), key=lambda kv: kv[1][0]):
        outcome = await repo.record_attendance(conn, session_id, participant_id, present, "sheet")
        counts[outcome] += 1
        if outcome != "unchanged":
            touched.add(participant_id)
    events = await app_.recompute_many(conn, rt.event, programme_id, touched)
    return {
        "rows": len(rows),
        "recorded": len(wanted),
        **counts,
        "events": len(events),
        "rejected": [e.as_dict() for e in sorted(errors, key=lambda e: (e.row, e.field))],
    }


@router.post(
    "/sessions/{session_id}/attendance/import",
    tags=["attendance"],
    summary="Import a session's CSV sign-in sheet",
    openapi_extra=CSV_BODY,
)
async def import_session_sheet(
    session_id: str,
    request: Request,
    rt: Rt,
    who: Editor,
    on_error: OnErrorQ = "reject",
    encoding: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Columns: who (``participant_id``, ``ref`` or ``name`` — Vārds, uzvārds / ФИО, matched among the enrolled
    participants), and optionally ``present`` (jā/nē, да/нет, 1/0) or ``signature`` (Paraksts / Подпись: signed =
    present). Without either, every listed participant is present. Row numbers as in a spreadsheet."""
    text = await _sheet_text(request, encoding)
    async with rt.pool.acquire() as conn, conn.transaction():
        session = await _session(conn, session_id)
        return await _import_signin(conn, rt, who, session["programme_id"], session, text, on_error)


@router.post(
    "/programmes/{programme_id}/attendance/import",
    tags=["attendance"],
    summary="Import a programme's CSV sign-in sheet (a session column per row)",
    openapi_extra=CSV_BODY,
)
async def import_programme_sheet(
    programme_id: str,
    request: Request,
    rt: Rt,
    who: Editor,
    on_error: OnErrorQ = "reject",
    encoding: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """As the session sheet, plus per row a ``session`` id (Nodarbība / Занятие) or ``module`` + ``date``
    (Modulis + Datums / Модуль + Дата)."""
    text = await _sheet_text(request, encoding)
    async with rt.pool.acquire() as conn, conn.transaction():
        await _programme(conn, programme_id)
        return await _import_signin(conn, rt, who, programme_id, None, text, on_error)


# --- documents ------------------------------------------------------------------------------------------------------


@router.get(
    "/programmes/{programme_id}/participants/{participant_id}/certificate.pdf",
    tags=["documents"],
    summary="Completion certificate (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def certificate(programme_id: str, participant_id: uuid.UUID, rt: Rt, who: Viewer, lang: Lang = "lv") -> Response:
    async with rt.pool.acquire() as conn:
        programme = await _programme(conn, programme_id)
        person = await _participant(conn, participant_id)
        ensure_scope(who, person["country"], _municipality(person["place"]))
        enrolment = await repo.lock_enrolment(conn, programme_id, participant_id)
        if enrolment is None:
            raise not_found("enrolment of participant", participant_id, "path:participant_id")
        modules = await repo.list_modules(conn, programme_id)
        present = await repo.present_sessions(conn, programme_id, participant_id)
        done = attended_modules(await repo.session_infos(conn, programme_id), present)
    if not enrolment["currently_complete"]:
        missing = [m["code"] for m in modules if m["code"] not in done]
        raise conflict(
            f"Participant has not completed the programme (modules not attended: {', '.join(missing) or 'none'}).",
            "path:participant_id",
            "not-completed",
        )
    data = documents.CertificateData(
        number=f"{programme['code']}-{person['key'][2:10].upper()}",
        full_name=person["full_name"],
        programme_title=programme["title"],
        modules=[(m["code"], m["title"], float(m["hours"])) for m in modules if m["code"] in done],
        completed_on=enrolment["completed_on"] or max(a.attended_on for a in done.values()),
        issued_on=today(),
    )
    try:
        pdf = documents.certificate_pdf(data, lang, _settings(rt).font_path())
    except documents.FontMissing as exc:
        raise Problem(503, "Certificate font missing", str(exc), type_="font-missing") from exc
    filename = f"certificate-{programme['code']}-{participant_id}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/programmes/{programme_id}/attendance.xlsx",
    tags=["documents"],
    summary="Programme attendance sheet (XLSX) for the project report",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def attendance_sheet(programme_id: str, rt: Rt, who: Viewer, lang: Lang = "lv") -> Response:
    async with rt.pool.acquire() as conn:
        programme = await _programme(conn, programme_id)
        modules = await repo.list_modules(conn, programme_id)
        sessions = await repo.list_sessions(conn, programme_id)
        people = [
            p
            for p in await repo.enrolled_participants(conn, programme_id)
            if who.may_act_in(p["country"], _municipality(p["place"]))
        ]
        records = await repo.programme_attendance(conn, programme_id)
        status = await repo.programme_module_status(conn, programme_id)
    body = documents.attendance_xlsx(
        programme=dict(programme),
        modules=[dict(m) for m in modules],
        sessions=[documents.SheetSession(s["id"], s["module_code"], s["held_on"]) for s in sessions],
        participants=[dict(p) for p in people],
        present={(r["session_id"], str(r["participant_id"])) for r in records if r["present"]},
        recorded={(r["session_id"], str(r["participant_id"])) for r in records},
        attended={(s["module_code"], str(s["participant_id"])) for s in status if s["attended"]},
        lang=lang,
    )
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="attendance-{programme["code"]}.xlsx"'},
    )


# --- activities -----------------------------------------------------------------------------------------------------


@router.post("/activities", status_code=201, tags=["activities"], summary="Plan a study tour, conference or exchange")
async def create_activity(body: ActivityIn, rt: Rt, who: Editor, response: Response) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        if body.programme_id:
            await _programme(conn, body.programme_id)
        place = await _resolve_place(conn, body)
        ensure_scope(who, place.country, _municipality(place))
        data: dict[str, Any] = {
            "id": body.id or new_id(),
            "kind": str(body.kind),
            "title": body.title.model_dump(),
            "starts_on": body.starts_on,
            "ends_on": body.ends_on,
            "place": place.model_dump(mode="json"),
            "programme_id": body.programme_id,
        }
        existing = await repo.get_activity(conn, data["id"]) if body.id else None
        if existing is not None:
            if any(existing[k] != data[k] for k in ("kind", "starts_on", "ends_on", "title")):
                raise conflict(f"Activity {body.id!r} exists with other details.", "id")
            response.status_code = 200
            return activity_out(existing, len(await repo.activity_participants(conn, existing["id"])))
        await repo.insert_activity(conn, data)
        return activity_out(await repo.get_activity(conn, data["id"]), 0)


@router.get("/activities", tags=["activities"], summary="Activities")
async def get_activities(rt: Rt, who: Viewer) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return [activity_out(a) for a in await repo.list_activities(conn)]


async def _activity(conn: Conn, activity_id: str, *, lock: bool = False) -> Any:
    row = await repo.get_activity(conn, activity_id, lock=lock)
    if row is None:
        raise not_found("activity", activity_id, "path:activity_id")
    return row


@router.get("/activities/{activity_id}", tags=["activities"], summary="One activity with its participants")
async def get_activity(activity_id: str, rt: Rt, who: Viewer) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await _activity(conn, activity_id)
        people = await repo.activity_participants(conn, activity_id)
    return {**activity_out(row, len(people)), "participant_list": [participant_out(p) for p in people]}


@router.post("/activities/{activity_id}/participants", tags=["activities"], summary="Record participation")
async def add_participation(activity_id: str, body: ParticipantIds, rt: Rt, who: Editor) -> dict[str, Any]:
    """Add participants (idempotent: someone already recorded is not counted twice). All or nothing."""
    async with rt.pool.acquire() as conn, conn.transaction():
        activity = await _activity(conn, activity_id, lock=True)
        if activity["held_at"] is not None:
            raise conflict(
                f"Activity {activity_id} was already reported as held; its participants are final.",
                "path:activity_id",
                "activity-held",
            )
        found = await repo.participants_by_ids(conn, body.participant_ids)
        missing = [
            {"field": f"participant_ids.{i}", "message": "unknown participant", "value": str(p)}
            for i, p in enumerate(body.participant_ids)
            if p not in found
        ]
        if missing:
            raise invalid(f"{len(missing)} unknown participant(s); nobody was added.", missing, "unknown-participant")
        added = await repo.add_activity_participants(conn, activity_id, list(found))
        total = len(await repo.activity_participants(conn, activity_id))
    return {"activity_id": activity_id, "added": added, "already": len(found) - added, "participants": total}


@router.delete(
    "/activities/{activity_id}/participants/{participant_id}",
    tags=["activities"],
    summary="Remove a participant (before the activity is reported held)",
)
async def remove_participation(activity_id: str, participant_id: uuid.UUID, rt: Rt, who: Editor) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        activity = await _activity(conn, activity_id, lock=True)
        if activity["held_at"] is not None:
            raise conflict(f"Activity {activity_id} was already reported as held.", "path:activity_id", "activity-held")
        removed = await repo.remove_activity_participant(conn, activity_id, participant_id)
    return {"activity_id": activity_id, "participant_id": str(participant_id), "changed": removed}


@router.post("/activities/{activity_id}/held", tags=["activities"], summary="Report the activity held")
async def activity_held(activity_id: str, rt: Rt, who: Editor) -> dict[str, Any]:
    """Emits ``activity.held`` once, with participants by country, role and gender. Repeating changes nothing."""
    async with rt.pool.acquire() as conn, conn.transaction():
        activity = await _activity(conn, activity_id, lock=True)
        ensure_scope(who, activity["place"]["country"], _municipality(activity["place"]))
        if activity["held_at"] is not None:
            return {"activity_id": activity_id, "held": True, "changed": False}
        if activity["ends_on"] > today():
            raise conflict(
                f"Activity {activity_id} ends on {activity['ends_on']}: it has not been held yet.",
                "ends_on",
                "activity-not-held",
            )
        if not await repo.activity_participants(conn, activity_id):
            raise conflict("The activity has no participants recorded.", "participants", "activity-empty")
        event = await app_.hold_activity(conn, rt.event, activity)
    return {
        "activity_id": activity_id,
        "held": True,
        "changed": True,
        "event_id": event.id,
        "participants": getattr(event.data, "participants", None),
    }
