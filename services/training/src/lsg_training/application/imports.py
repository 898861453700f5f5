"""CSV sheets in: participant registrations and sign-in sheets (Latvian, Russian or English headings).

A sheet is all or nothing by default (``on_error="reject"``: any bad row rejects it, naming every bad row);
``on_error="skip"`` imports the good rows and lists the rejected ones.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from lsg_events.geography import Place
from lsg_shared.auth import Principal
from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_training.adapters import postgres as repo
from lsg_training.application import progress, records
from lsg_training.application.attendance import not_happened
from lsg_training.application.errors import Conflict, InvalidRows, UnreadableSheet
from lsg_training.application.participants import register
from lsg_training.application.residency import residency_of
from lsg_training.domain import sheets
from lsg_training.domain.participants import ParticipantDetails, identity_of
from lsg_training.domain.places import municipality_of


def _unreadable(exc: sheets.SheetError) -> UnreadableSheet:
    return UnreadableSheet(exc.message, exc.errors)


def _rows_refused(errors: list[sheets.RowError], total: int) -> InvalidRows:
    rows = sorted({e.row for e in errors})
    listed = ", ".join(str(r) for r in rows[:20]) + (" …" if len(rows) > 20 else "")
    return InvalidRows(
        f"{len(rows)} of {total} row(s) are invalid (rows {listed}); nothing was imported. "
        "Fix them, or send ?on_error=skip to import the good rows only.",
        [e.as_dict() for e in sorted(errors, key=lambda e: (e.row, e.field))],
    )


def decode(raw: bytes, encoding: str | None) -> str:
    try:
        return sheets.decode(raw, encoding)
    except sheets.SheetError as exc:
        raise _unreadable(exc) from exc


async def import_participants(
    uow: UnitOfWork,
    who: Principal,
    key: bytes,
    raw: bytes,
    *,
    encoding: str | None,
    programme_id: str | None,
    on_error: str,
) -> dict[str, Any]:
    """Register the sheet's participants (and enrol them in a programme if one is given)."""
    text = decode(raw, encoding)
    try:
        headings, rows = sheets.read(text)
        cols = sheets.layout(headings, sheets.PARTICIPANT_COLUMNS)
    except sheets.SheetError as exc:
        raise _unreadable(exc) from exc
    async with uow.begin() as tx:
        conn = tx.conn
        if programme_id:
            await records.programme(conn, programme_id, field="query:programme_id")
        errors: list[sheets.RowError] = []
        good: list[tuple[int, ParticipantDetails, Place]] = []
        seen: dict[str, int] = {}
        for number, cells in rows:
            parsed = await _participant_row(conn, number, cells, cols, errors)
            if parsed is None:
                continue
            details, place = parsed
            if not who.may_act_in(details.country, municipality_of(place)):
                errors.append(
                    sheets.RowError(number, "country", "your token may not act in this country/area", details.country)
                )
                continue
            ident = identity_of(
                details.ref, sheets.clean_text(details.full_name), details.country, details.email, details.phone
            )
            if ident in seen:
                errors.append(sheets.RowError(number, "name", f"the same person as row {seen[ident]}"))
                continue
            seen[ident] = number
            good.append((number, details, place))
        if errors and on_error == "reject":
            raise _rows_refused(errors, len(rows))
        created = unchanged = 0
        ids: list[uuid.UUID] = []
        for number, details, place in good:
            try:
                async with conn.transaction():  # a savepoint: a conflicting row is reported, the rest go on
                    row, was_created = await register(conn, key, details, place, residency_of(uow))
            except Conflict as exc:
                errors.append(sheets.RowError(number, "name", exc.detail))
                continue
            created += was_created
            unchanged += not was_created
            ids.append(row["id"])
        if errors and on_error == "reject":
            raise _rows_refused(errors, len(rows))
        enrolled = 0
        if programme_id and ids:
            enrolled = await repo.enrol(conn, programme_id, ids)
            await progress.recompute_many(tx, programme_id, ids)
    return {
        "rows": len(rows),
        "created": created,
        "unchanged": unchanged,
        "enrolled": enrolled,
        "participant_ids": [str(i) for i in ids],
        "rejected": [e.as_dict() for e in sorted(errors, key=lambda e: e.row)],
    }


async def _participant_row(
    conn: Conn, number: int, cells: list[str], cols: sheets.Layout, errors: list[sheets.RowError]
) -> tuple[ParticipantDetails, Place] | None:
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
        details = ParticipantDetails.model_validate(
            {
                "ref": cell("ref") or None,
                "full_name": name,
                "email": cell("email") or None,
                "phone": cell("phone") or None,
                "role": role,
                "country": country,
                "gender": gender,
                "organisation": cell("organisation") or None,
            }
        )
    except ValueError as exc:
        for err in getattr(exc, "errors", lambda: [])():
            field = ".".join(str(p) for p in err.get("loc", ())) or "row"
            errors.append(sheets.RowError(number, field, err.get("msg", "invalid"), str(err.get("input", ""))[:200]))
        return None
    return details, place or Place(country=country)


async def import_signin(
    uow: UnitOfWork,
    who: Principal,
    raw: bytes,
    *,
    encoding: str | None,
    on_error: str,
    session_id: str | None = None,
    programme_id: str | None = None,
) -> dict[str, Any]:
    """A sign-in sheet of one session (``session_id``) or of a programme (a session column per row)."""
    text = decode(raw, encoding)
    async with uow.begin() as tx:
        fixed: Any | None = None
        if session_id is not None:
            fixed = await records.session(tx.conn, session_id)
            programme_id = fixed["programme_id"]
        else:
            assert programme_id is not None
            await records.programme(tx.conn, programme_id)
        assert programme_id is not None
        return await _import_signin(tx, who, programme_id, fixed, text, on_error)


async def _import_signin(
    tx: Transaction, who: Principal, programme_id: str, fixed: Any | None, text: str, on_error: str
) -> dict[str, Any]:
    conn = tx.conn
    try:
        headings, rows = sheets.read(text)
        cols = sheets.layout(headings, sheets.SIGNIN_COLUMNS, one_of=("participant_id", "ref", "name"))
        scols = sheets.layout(headings, sheets.SESSION_COLUMNS)
    except sheets.SheetError as exc:
        raise _unreadable(exc) from exc
    if fixed is None and "session" not in scols.index and not {"module", "date"} <= set(scols.index):
        raise _unreadable(
            sheets.SheetError(
                "A programme sheet needs a session column, or module and date columns.",
                [{"field": "session", "row": 1, "message": "no session (or module + date) column"}],
            )
        )
    sessions = {s["id"]: s for s in await repo.list_sessions(conn, programme_id)}
    by_module_date: dict[tuple[str, date], list[Any]] = {}
    for s in sessions.values():
        by_module_date.setdefault((sheets.match_key(s["module_code"]), s["held_on"]), []).append(s)
    people = await residency_of(tx).fill(await repo.enrolled_participants(conn, programme_id))
    by_id = {p["id"]: p for p in people}
    by_ref = {p["ref"]: p for p in people if p["ref"]}
    by_name: dict[str, list[Any]] = {}
    for p in people:
        by_name.setdefault(sheets.match_key(p["full_name"]), []).append(p)
    errors: list[sheets.RowError] = []
    wanted: dict[tuple[str, uuid.UUID], tuple[int, bool]] = {}
    day = records.today()
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
                held = sheets.parse_date(scols.get(cells, "date") or "")
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
            errors.append(sheets.RowError(number, "session", not_happened(session), session["id"]))
        if session is not None and not who.may_act_in(session["place"]["country"], municipality_of(session["place"])):
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
        raise _rows_refused(errors, len(rows))
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
    events = await progress.recompute_many(tx, programme_id, touched)
    return {
        "rows": len(rows),
        "recorded": len(wanted),
        **counts,
        "events": len(events),
        "rejected": [e.as_dict() for e in sorted(errors, key=lambda e: (e.row, e.field))],
    }
