"""Erasure, access and retention of participants' personal data (issue 30).

The guarantee (the same surveys gives): published figures do not change (the pseudonymous facts a figure was made
from stay: key, role, country, place, gender, attendance, completion), the pseudonymous key cannot be taken back
to the person afterwards (the row that held the name, contacts, registration number and identity no longer holds
them, and the country's personal database no longer has the row), and the erasure is recorded without what it
erased (``privacy_erasures``: request id, how it came, when, counts).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from lsg_shared import audit, privacy_requests
from lsg_shared.db import Conn
from lsg_shared.privacy_access import audit_rows as shared_audit_rows
from lsg_shared.privacy_access import labelled, split_local_ids
from lsg_shared.uow import Transaction
from lsg_training.adapters import postgres as repo
from lsg_training.application.residency import Residency
from lsg_training.domain.privacy import LABELS, participant_tokens, retention_due

log = logging.getLogger(__name__)
SERVICE = "training"
EVENT_TYPES = ("lv.lsg.training.attended.v1", "lv.lsg.training.completed.v1")


async def find(
    conn: Conn,
    residency: Residency,
    subject_key: str | bytes | None,
    tokens: Iterable[str],
    local_ids: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The living participants a request means: their details make one of `tokens`, or their id or pseudonymous
    key is among `local_ids`."""
    wanted = set(tokens) if subject_key is not None else set()
    found_ids, found_keys = split_local_ids(local_ids)
    ids, keys = set(found_ids), set(found_keys)
    people = await residency.fill(await repo.living_participants(conn))
    return [
        p
        for p in people
        if p["id"] in ids
        or p["key"] in keys
        or (subject_key is not None and participant_tokens(subject_key, p) & wanted)
    ]


async def _erase_trainers(conn: Conn, subject_key: str | bytes, tokens: set[str]) -> int:
    """Trainers are people too: a trainer's name (with the session's country) matching a token is blanked. The
    number of trainers (what session.held told) stays."""
    from lsg_shared import privacy

    count = 0
    for session in await repo.sessions_with_trainers(conn):
        country = session["place"].get("country")
        names = list(session["trainers"])
        kept = ["" if privacy.matches(subject_key, tokens, name=n, country=country) and n else n for n in names]
        if kept != names:
            count += sum(1 for a, b in zip(names, kept, strict=True) if a != b)
            await repo.set_trainers(conn, session["id"], kept)
    return count


async def erase(
    tx: Transaction,
    residency: Residency,
    subject_key: str | bytes | None,
    *,
    request_id: str,
    requested: str,
    tokens: Iterable[str] = (),
    local_ids: Iterable[str] = (),
    confirm: bool = True,
) -> dict[str, int]:
    """Erase everything personal the service holds about the person of a request; counts per category.

    Runs in the caller's transaction (the consumer's, with its inbox claim; or the route's). The country
    databases' rows are deleted in it too: if the transaction then fails, the redelivered request finds nothing
    left to erase there and erases the rest."""
    conn = tx.conn
    wanted = set(tokens) if subject_key is not None else set()
    people = await find(conn, residency, subject_key, wanted, local_ids)
    ids = [p["id"] for p in people]
    counts = {"participants": await repo.erase_participants(conn, ids)}
    counts["personal_records"] = await residency.forget_rows(people)
    counts["trainer_names"] = 0
    counts["audit_rows"] = 0
    if subject_key is not None and wanted:
        counts["trainer_names"] = await _erase_trainers(conn, subject_key, wanted)
        counts["audit_rows"] = await audit.erase_person(conn, subject_key, wanted)
    if not await repo.record_erasure(conn, request_id, requested, counts):
        counts = dict.fromkeys(counts, 0)  # this request was done before: nothing more was erased
    if confirm:
        await privacy_requests.confirm(tx, SERVICE, request_id, counts)
    log.info("privacy: erasure %s done (%s)", request_id, counts)  # counts only: never who
    return counts


def _labelled(value: Any, label: str) -> dict[str, Any]:
    return labelled(LABELS, value, label)


async def access(
    conn: Conn,
    residency: Residency,
    subject_key: str | bytes | None,
    tokens: Iterable[str],
    local_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """Everything the service holds about the person (GDPR art. 15), machine-readable, labels in lv/ru/en,
    with where each part is stored."""
    wanted = set(tokens) if subject_key is not None else set()
    people = await find(conn, residency, subject_key, wanted, local_ids)
    out: list[dict[str, Any]] = []
    for p in people:
        pid = p["id"]
        stored = residency.where(p["residence"])
        enrolments = await repo.participant_enrolments(conn, pid)
        attendance = await repo.participant_attendance(conn, pid)
        modules = await repo.participant_module_status(conn, pid)
        activities = await repo.participant_activities(conn, pid)
        out.append(
            {
                "label": LABELS["participant"],
                "stored_in": _labelled(
                    {
                        "personal_fields": stored,
                        "pseudonymous_facts": residency.where(None),
                    },
                    "stored_in",
                ),
                "fields": {
                    name: _labelled(p[name], name)
                    for name in ("full_name", "ref", "email", "phone", "organisation", "role", "country", "gender")
                }
                | {
                    "id": _labelled(str(pid), "id"),
                    "key": _labelled(p["key"], "key"),
                    "place": _labelled(p["place"], "place"),
                    "registered_at": _labelled(p["created_at"].isoformat(), "registered_at"),
                },
                "enrolments": _labelled(
                    [
                        {
                            "programme_id": e["programme_id"],
                            "programme": e["title"],
                            "enrolled_at": e["enrolled_at"].isoformat(),
                            "currently_complete": e["currently_complete"],
                            "completed_on": e["completed_on"].isoformat() if e["completed_on"] else None,
                        }
                        for e in enrolments
                    ],
                    "enrolments",
                ),
                "attendance": _labelled(
                    [
                        {
                            "session_id": a["session_id"],
                            "programme_id": a["programme_id"],
                            "module_code": a["module_code"],
                            "held_on": a["held_on"].isoformat(),
                            "present": a["present"],
                            "source": a["source"],
                            "recorded_at": a["recorded_at"].isoformat(),
                        }
                        for a in attendance
                    ],
                    "attendance",
                ),
                "modules": _labelled(
                    [
                        {"programme_id": m["programme_id"], "module_code": m["module_code"], "attended": m["attended"]}
                        for m in modules
                    ],
                    "modules",
                ),
                "certificates": _labelled(
                    [
                        {
                            "programme_id": e["programme_id"],
                            "path": f"/v1/programmes/{e['programme_id']}/participants/{pid}/certificate.pdf",
                        }
                        for e in enrolments
                        if e["currently_complete"]
                    ],
                    "certificates",
                ),
                "activities": _labelled(
                    [
                        {
                            "activity_id": a["id"],
                            "kind": a["kind"],
                            "title": a["title"],
                            "starts_on": a["starts_on"].isoformat(),
                            "ends_on": a["ends_on"].isoformat(),
                        }
                        for a in activities
                    ],
                    "activities",
                ),
                "events": _labelled(
                    {"topic": "lsg.training.events.v1", "key": p["key"], "types": list(EVENT_TYPES)}, "events"
                ),
            }
        )
    audit_rows = await shared_audit_rows(conn, subject_key, wanted)
    return {
        "service": SERVICE,
        "generated_at": datetime.now(UTC).isoformat(),
        "labels": LABELS,
        "participants": out,
        "audit": _labelled(audit_rows, "audit"),
    }


async def retention(
    tx: Transaction,
    residency: Residency,
    subject_key: str | bytes | None,
    *,
    today: date,
    participant_days: int | None,
    audit_identity_days: int | None,
    now: datetime | None = None,
) -> dict[str, int]:
    """The scheduled job: erase the personal data of participants whose programmes and activities all ended more
    than ``participant_days`` ago, and anonymise the audit log's user identities older than
    ``audit_identity_days``. Recorded like an erasure (``retention-<date>``), without whom."""
    counts: dict[str, int] = {"participants": 0, "personal_records": 0, "audit_rows": 0}
    if participant_days is not None:
        due = [
            str(r["id"])
            for r in await repo.retention_candidates(tx.conn)
            if retention_due(r["ends"], r["created_at"].date(), today, participant_days)
        ]
        if due:
            counts = await erase(
                tx,
                residency,
                subject_key,
                request_id=f"retention-{today.isoformat()}-{uuid.uuid4().hex[:8]}",
                requested="retention",
                local_ids=due,
                confirm=False,
            )
    counts["orphaned_personal_records"] = await residency.orphans(tx.conn)
    if audit_identity_days is not None:
        counts["audit_rows"] = counts.get("audit_rows", 0) + await audit.anonymise(
            tx.conn, audit_identity_days, now=now or datetime.combine(today, datetime.min.time(), UTC)
        )
    return counts
