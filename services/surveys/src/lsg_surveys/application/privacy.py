"""Erasure, access and retention of respondents' personal data by subject tokens (issue 30).

The guarantee (the same as ``POST /v1/erasure-requests``): published figures do not change (the closed answers,
place, age band and gender a figure was made from stay, and no event is told), the pseudonymous key cannot be
taken back to the person afterwards (the rows lose their name, phone, reference and free text, the key becomes a
random tombstone, the country database's row is deleted), and the erasure is recorded without what it erased
(``survey_privacy_erasures``: request id, how it came, when, counts).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from lsg_shared import audit, privacy_requests
from lsg_shared.db import Conn
from lsg_shared.privacy_access import audit_rows, iso, labelled, split_local_ids
from lsg_shared.uow import Transaction
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.residency import Residency
from lsg_surveys.domain.privacy import LABELS, respondent_tokens, retention_due

log = logging.getLogger(__name__)
SERVICE = "surveys"
TOPIC = "lsg.surveys.events.v1"
EVENT_TYPES = ("lv.lsg.survey.response.recorded.v1", "lv.lsg.survey.response.corrected.v1")


async def find(
    conn: Conn,
    residency: Residency,
    subject_key: str | bytes | None,
    tokens: Iterable[str],
    local_ids: Iterable[str] = (),
) -> tuple[list[str], list[uuid.UUID]]:
    """The respondent keys and response ids a request means: a response whose respondent's phone, reference or
    name (with the settlement's country) makes one of `tokens`, or whose id or key is among `local_ids`. Every
    response with a matched key is the same person (other waves, edits)."""
    wanted = set(tokens) if subject_key is not None else set()
    ids, keys = split_local_ids(local_ids)
    if wanted:
        assert subject_key is not None
        for r in await residency.fill(await repo.living_respondents(conn)):
            if respondent_tokens(subject_key, r) & wanted:
                keys.append(r["respondent_key"])
                ids.append(r["response_id"])
    return sorted(set(keys)), sorted(set(ids))


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

    Runs in the caller's transaction (the consumer's, with its inbox claim; or the route's or the job's)."""
    conn = tx.conn
    wanted = set(tokens) if subject_key is not None else set()
    keys, ids = await find(conn, residency, subject_key, wanted, local_ids)
    rows = await repo.erase_responses(conn, keys=keys, response_ids=ids) if keys or ids else []
    counts = {"responses": len(rows), "personal_records": await residency.forget(rows), "audit_rows": 0}
    if subject_key is not None and wanted:
        counts["audit_rows"] = await audit.erase_person(conn, subject_key, wanted)
    if not await repo.record_privacy_erasure(conn, request_id, requested, counts):
        counts = dict.fromkeys(counts, 0)  # this request was done before: nothing more was erased
    if confirm:
        await privacy_requests.confirm(tx, SERVICE, request_id, counts)
    log.info("privacy: erasure %s done (%s)", request_id, counts)  # counts only: never who
    return counts


def _labelled(value: Any, label: str) -> dict[str, Any]:
    return labelled(LABELS, value, label)


def _free_text(answers: dict[str, Any] | None, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = {q.get("question_id"): q.get("label") for q in questions}
    return [{"question_id": q, "question": labels.get(q), "text": t} for q, t in (answers or {}).items()]


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
    keys, ids = await find(conn, residency, subject_key, wanted, local_ids)
    rows = await residency.fill(await repo.responses_by(conn, keys, ids)) if keys or ids else []
    out: list[dict[str, Any]] = []
    for r in rows:
        out.append(
            {
                "label": LABELS["response"],
                "stored_in": _labelled(
                    {"personal_fields": residency.where(r["residence"]), "pseudonymous_facts": residency.where(None)},
                    "stored_in",
                ),
                "fields": {
                    "response_id": _labelled(str(r["response_id"]), "response_id"),
                    "campaign_id": _labelled(r["campaign_id"], "campaign_id"),
                    "campaign": _labelled(r["campaign_title"], "campaign"),
                    "respondent_name": _labelled(r["respondent_name"], "respondent_name"),
                    "respondent_phone": _labelled(r["respondent_phone"], "respondent_phone"),
                    "respondent_ref": _labelled(r["respondent_ref"], "respondent_ref"),
                    "respondent_key": _labelled(r["respondent_key"], "respondent_key"),
                    "place": _labelled(r["place"], "place"),
                    "age_band": _labelled(r["age_band"], "age_band"),
                    "age_range": _labelled(r["age_range"], "age_range"),
                    "gender": _labelled(r["gender"], "gender"),
                    "answers": _labelled(r["answers"], "answers"),
                    "free_text": _labelled(_free_text(r["free_text"], r["campaign_questions"]), "free_text"),
                    "source": _labelled(r["source"], "source"),
                    "submission_ids": _labelled(list(r["submission_ids"]), "submission_ids"),
                    "submitted_at": _labelled(iso(r["submitted_at"]), "submitted_at"),
                    "recorded_at": _labelled(iso(r["recorded_at"]), "recorded_at"),
                    "corrected_at": _labelled(iso(r["corrected_at"]), "corrected_at"),
                },
                "events": _labelled({"topic": TOPIC, "key": r["respondent_key"], "types": list(EVENT_TYPES)}, "events"),
            }
        )
    return {
        "service": SERVICE,
        "generated_at": datetime.now(UTC).isoformat(),
        "labels": LABELS,
        "responses": out,
        # Meetings' problems and initiatives are the meeting's statements, recorded without who said them, and
        # their counts by role and gender are not names: nothing there is about one person.
        "gatherings": _labelled([], "gatherings"),
        "audit": _labelled(await audit_rows(conn, subject_key, wanted), "audit"),
    }


async def retention(
    tx: Transaction,
    residency: Residency,
    subject_key: str | bytes | None,
    *,
    today: date,
    respondent_days: int | None,
    audit_identity_days: int | None,
    now: datetime | None = None,
) -> dict[str, int]:
    """The scheduled job: erase the personal fields of respondents whose campaign closed more than
    ``respondent_days`` ago, sweep orphaned rows of the countries' databases, and anonymise the audit log's user
    identities older than ``audit_identity_days``. Recorded like an erasure (``retention-<date>-…``), without
    whom."""
    counts: dict[str, int] = {"responses": 0, "personal_records": 0, "audit_rows": 0}
    if respondent_days is not None:
        due = [
            str(r["response_id"])
            for r in await repo.retention_candidates(tx.conn)
            if retention_due(r["closed_at"].astimezone(UTC).date(), today, respondent_days)
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
        counts["audit_rows"] += await audit.anonymise(
            tx.conn, audit_identity_days, now=now or datetime.combine(today, datetime.min.time(), UTC)
        )
    return counts
