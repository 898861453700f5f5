"""Documents: a participant's completion certificate (PDF) and a programme's attendance sheet (XLSX)."""

from __future__ import annotations

import uuid
from pathlib import Path

from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.uow import UnitOfWork
from lsg_training.adapters import documents
from lsg_training.adapters import postgres as repo
from lsg_training.application import records
from lsg_training.application.errors import Conflict, FontMissing, NotFound
from lsg_training.application.residency import residency_of
from lsg_training.domain.places import municipality_of
from lsg_training.domain.rules import attended_modules


async def certificate(
    uow: UnitOfWork, who: Principal, programme_id: str, participant_id: uuid.UUID, lang: str, font: Path | None
) -> tuple[str, bytes]:
    """(file name, PDF) of a completion certificate; refused while the participant is not complete."""
    async with uow.read() as conn:
        programme = await records.programme(conn, programme_id)
        person = await residency_of(uow).fill_one(await records.participant(conn, participant_id))
        assert person is not None
        if not person["full_name"]:
            raise Conflict(
                "The participant's personal data was erased: no certificate.", "path:participant_id", "erased"
            )
        ensure_scope(who, person["country"], municipality_of(person["place"]))
        enrolment = await repo.lock_enrolment(conn, programme_id, participant_id)
        if enrolment is None:
            raise NotFound("enrolment of participant", participant_id, "path:participant_id")
        modules = await repo.list_modules(conn, programme_id)
        present = await repo.present_sessions(conn, programme_id, participant_id)
        done = attended_modules(await repo.session_infos(conn, programme_id), present)
    if not enrolment["currently_complete"]:
        missing = [m["code"] for m in modules if m["code"] not in done]
        raise Conflict(
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
        issued_on=records.today(),
    )
    try:
        pdf = documents.certificate_pdf(data, lang, font)
    except documents.FontMissing as exc:
        raise FontMissing(str(exc)) from exc
    return f"certificate-{programme['code']}-{participant_id}.pdf", pdf


async def attendance_sheet(uow: UnitOfWork, who: Principal, programme_id: str, lang: str) -> tuple[str, bytes]:
    """(file name, XLSX) of the programme's attendance, the participants the caller may see."""
    async with uow.read() as conn:
        programme = await records.programme(conn, programme_id)
        modules = await repo.list_modules(conn, programme_id)
        sessions = await repo.list_sessions(conn, programme_id)
        people = [
            p
            for p in await residency_of(uow).fill(await repo.enrolled_participants(conn, programme_id))
            if who.may_act_in(p["country"], municipality_of(p["place"]))
        ]
        attendance = await repo.programme_attendance(conn, programme_id)
        status = await repo.programme_module_status(conn, programme_id)
    body = documents.attendance_xlsx(
        programme=dict(programme),
        modules=[dict(m) for m in modules],
        sessions=[documents.SheetSession(s["id"], s["module_code"], s["held_on"]) for s in sessions],
        participants=[dict(p) for p in people],
        present={(r["session_id"], str(r["participant_id"])) for r in attendance if r["present"]},
        recorded={(r["session_id"], str(r["participant_id"])) for r in attendance},
        attended={(s["module_code"], str(s["participant_id"])) for s in status if s["attended"]},
        lang=lang,
    )
    return f"attendance-{programme['code']}.xlsx", body
