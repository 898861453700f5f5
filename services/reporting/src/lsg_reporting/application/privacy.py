"""Erasure, access and retention of the staff logins reporting stores as who did what (issue 30).

The guarantee (the one the other services give): published figures do not change (no amount, date, status or
indicator fact is touched, no event is told), the person cannot be found again from any reporting table (each
of their logins is replaced by a random pseudonym, the audit log's identities are erased), approved documents
stay byte for byte (they never name anyone, see ``domain.privacy``), and the erasure is recorded without what it
erased (``reporting_privacy_erasures``: request id, how it came, when, counts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from lsg_reporting.adapters import privacy as repo
from lsg_reporting.application.period_reports import canonical
from lsg_reporting.domain.privacy import LABELS, pseudonym, replace_in_history, retention_cutoff
from lsg_shared import audit, privacy_requests
from lsg_shared.db import Conn
from lsg_shared.privacy_access import audit_rows, labelled, matching_logins
from lsg_shared.uow import Transaction

log = logging.getLogger(__name__)
SERVICE = "reporting"


async def find(
    conn: Conn, subject_key: str | bytes | None, tokens: Iterable[str], local_ids: Iterable[str] = ()
) -> list[str]:
    """The logins a request means: a stored login whose login token is among `tokens`, or named in `local_ids`
    (reporting's local id of a person is their login)."""
    stored = await repo.logins(conn)
    named = set(local_ids)
    return sorted(set(matching_logins(subject_key, tokens, stored)) | {s for s in stored if s in named})


async def _replace(conn: Conn, names: Sequence[str], before: datetime | None = None) -> dict[str, int]:
    """Replace each of `names` with a fresh pseudonym everywhere it names who did something (before `before`)."""
    counts = {category: 0 for category, *_ in repo.IDENTITY_COLUMNS} | {"report_steps": 0, "approved_documents": 0}
    stand_in = {name: pseudonym() for name in names}
    for name, other in stand_in.items():
        for category, n in (await repo.replace_login(conn, name, other, before)).items():
            counts[category] += n
    for row in await repo.reports_naming(conn, list(stand_in)):
        history, changed = replace_in_history(row["history"], stand_in, before)
        if changed:
            await repo.set_history(conn, row["period_id"], history)
            counts["report_steps"] += changed
    # Reports frozen while documents still named who took each step: the login becomes the pseudonym in the JSON
    # (and its digest is the new bytes'); the XLSX and PDF never named anyone. Newer snapshots never match.
    for row in await repo.snapshots_naming(conn, list(stand_in)):
        doc = json.loads(bytes(row["snapshot_json"]))
        history, changed = replace_in_history(doc.get("history", []), stand_in, before)
        if changed:
            as_json = canonical({**doc, "history": history})
            await repo.set_snapshot_json(conn, row["period_id"], as_json, hashlib.sha256(as_json).hexdigest())
            counts["approved_documents"] += 1
    return counts


async def erase(
    tx: Transaction,
    subject_key: str | bytes | None,
    *,
    request_id: str,
    requested: str,
    tokens: Iterable[str] = (),
    local_ids: Iterable[str] = (),
    confirm: bool = True,
) -> dict[str, int]:
    """Erase the person's logins from every reporting table and the audit log; counts per category. Runs in the
    caller's transaction (the consumer's, with its inbox claim; or the route's)."""
    conn = tx.conn
    wanted = set(tokens) if subject_key is not None else set()
    names = await find(conn, subject_key, wanted, local_ids)
    counts = await _replace(conn, names)
    counts["audit_rows"] = await audit.erase_person(conn, subject_key, wanted) if subject_key and wanted else 0
    if not await repo.record_erasure(conn, request_id, requested, counts):
        counts = dict.fromkeys(counts, 0)  # this request was done before: nothing more was erased
    if confirm:
        await privacy_requests.confirm(tx, SERVICE, request_id, counts)
    log.info("privacy: erasure %s done (%s)", request_id, counts)  # counts only: never who
    return counts


def _plain(value: Any) -> Any:
    """A JSON value: times and dates as ISO text, amounts as text (as the API gives them)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _rows(rows: Sequence[Any], *names: str) -> list[dict[str, Any]]:
    return [{name: _plain(r[name]) for name in names} for r in rows]


async def access(
    conn: Conn, subject_key: str | bytes | None, tokens: Iterable[str], local_ids: Iterable[str] = (), *, where: str
) -> dict[str, Any]:
    """Everything reporting holds about the person (GDPR art. 15): per login, what they did as approver, recorder,
    verifier or report step-taker, with lv/ru/en labels and where it is stored; plus their audit rows."""
    wanted = set(tokens) if subject_key is not None else set()
    names = await find(conn, subject_key, wanted, local_ids)
    acts = await repo.actions_of(conn, names) if names else {}

    def part(label: str, *columns: str) -> dict[str, Any]:
        return labelled(LABELS, _rows(acts.get(label, []), "login", *columns), label)

    return {
        "service": SERVICE,
        "generated_at": datetime.now(UTC).isoformat(),
        "labels": LABELS,
        "logins": labelled(LABELS, names, "login"),
        "stored_in": labelled(LABELS, {"database": where, "country": "-", "kind": "main_database"}, "stored_in"),
        "budget_versions": part("budget_versions", "version", "reason", "created_at"),
        "expenditure_recorded": part(
            "expenditure_recorded", "entry_id", "period_id", "partner", "corrects", "recorded_at"
        ),
        "expenditure_verified": part(
            "expenditure_verified",
            "entry_id",
            "period_id",
            "eligible_eur",
            "ineligible_eur",
            "verification_note",
            "verified_at",
        ),
        "deliverables": part("deliverables", "deliverable_id", "kind", "recorded_on", "created_at"),
        "report_steps": part("report_steps", "period_id", "action", "at"),
        "audit": labelled(LABELS, await audit_rows(conn, subject_key, wanted), "audit"),
    }


async def retention(
    tx: Transaction, *, now: datetime, identity_days: int | None, audit_identity_days: int | None
) -> dict[str, int]:
    """The scheduled job: logins on records made more than ``identity_days`` ago are replaced by pseudonyms (one
    per login and run), and the audit log's identities older than ``audit_identity_days`` anonymised. Recorded
    like an erasure (``retention-<date>-…``), without whom."""
    counts: dict[str, int] = {}
    if identity_days is not None:
        before = retention_cutoff(now, identity_days)
        names = await repo.logins(tx.conn, before)
        if names:
            counts = await _replace(tx.conn, names, before)
            await repo.record_erasure(
                tx.conn, f"retention-{now.date().isoformat()}-{uuid.uuid4().hex[:8]}", "retention", counts
            )
    if audit_identity_days is not None:
        counts["audit_rows"] = await audit.anonymise(tx.conn, audit_identity_days, now=now)
    if any(counts.values()):
        log.info("privacy: retention done (%s)", counts)
    return counts
