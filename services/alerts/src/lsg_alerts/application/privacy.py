"""Access and retention of alert contacts' personal data (issue 30); erasure is ``contacts.erase_requested``.

Access (GDPR art. 15; 152-FZ art. 14): everything the service holds about a contact, machine-readable, labelled in
lv/ru/en, with where each part is stored. Retention: a contact in no rota (holding no override) and not active
for ``LSG_ALERTS_CONTACT_RETENTION_DAYS`` is erased as an erasure request would erase them, recorded as
``retention-<date>-…`` in ``contact_privacy_erasures`` without whom. Notification attempts hold no address (the
contact id, the channel kind, a machine reason), so there is nothing in them to anonymise.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts
from lsg_alerts.application.residency import Residency
from lsg_alerts.domain.privacy import LABELS, retention_cutoff
from lsg_events import topics
from lsg_shared import audit
from lsg_shared.db import Conn
from lsg_shared.privacy_access import audit_rows, iso, labelled
from lsg_shared.uow import Transaction

log = logging.getLogger(__name__)
EVENT_TYPES = (
    "lv.lsg.notification.sent.v1",
    "lv.lsg.notification.failed.v1",
    "lv.lsg.alert.acknowledged.v1",
)


def _labelled(value: Any, label: str) -> dict[str, Any]:
    return labelled(LABELS, value, label)


async def _contact(conn: Conn, box: SecretBox, residency: Residency, row: dict[str, Any]) -> dict[str, Any]:
    cid = row["contact_id"]
    person = contacts.unseal(box, row["sealed"])
    notifications = await db.notifications_to(conn, cid)
    attempts: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for a in await db.attempts_of(conn, [n["notification_id"] for n in notifications]):
        attempts.setdefault(a["notification_id"], []).append(
            {
                "at": iso(a["at"]),
                "channel": a["channel"],
                "attempt": a["attempt"],
                "ok": a["ok"],
                "reason": a["reason"],
            }
        )
    return {
        "label": LABELS["contact"],
        "stored_in": _labelled(
            {"personal_fields": residency.where(row["residence"]), "pseudonymous_facts": residency.where(None)},
            "stored_in",
        ),
        "fields": {
            "contact_id": _labelled(str(cid), "contact_id"),
            "name": _labelled(person.name if person else None, "name"),
            # The webhook's signing secret is the dispatch system's, not the person's: it is never shown again.
            "channels": _labelled(
                [{k: v for k, v in c.items() if k != "secret"} for c in person.channels] if person else [], "channels"
            ),
            "phone": _labelled(person.phone if person else None, "phone"),
            "language": _labelled(row["language"], "language"),
            "drills": _labelled(row["drills"], "drills"),
            "channel_kinds": _labelled(list(row["channel_kinds"]), "channel_kinds"),
            "country": _labelled(row["country"], "country"),
            "municipality_code": _labelled(row["municipality_code"], "municipality_code"),
            "created_at": _labelled(iso(row["created_at"]), "created_at"),
            "erased_at": _labelled(iso(row["erased_at"]), "erased_at"),
        },
        "rotas": _labelled(
            [
                {
                    "rota_id": str(r["rota_id"]),
                    "level": r["level"],
                    "area_code": r["area_code"],
                    "country": r["country"],
                    "turn": r["turn"],
                    "starts_at": iso(r["starts_at"]),
                    "shift_s": r["shift_s"],
                }
                for r in await db.rotas_with_member(conn, cid)
            ],
            "rotas",
        ),
        "overrides": _labelled(
            [
                {"rota_id": str(o["rota_id"]), "starts_at": iso(o["starts_at"]), "ends_at": iso(o["ends_at"])}
                for o in await db.overrides_of_contact(conn, cid)
            ],
            "overrides",
        ),
        "notifications": _labelled(
            [
                {
                    "notification_id": str(n["notification_id"]),
                    "alert_id": str(n["alert_id"]),
                    "alert": n["headline"] or n["event"],
                    "level": n["level"],
                    "channel": n["channel"],
                    "state": n["state"],
                    "created_at": iso(n["created_at"]),
                    "sent_at": iso(n["sent_at"]),
                    "link_used_at": iso(n["ack_used_at"]),
                    "attempts": _labelled(attempts.get(n["notification_id"], []), "attempts"),
                }
                for n in notifications
            ],
            "notifications",
        ),
        "acknowledgements": _labelled(
            [
                {"alert_id": str(a["alert_id"]), "at": iso(a["at"]), "action": a["action"], "detail": a["detail"]}
                for a in await db.acknowledgements_by(conn, cid)
            ],
            "acknowledgements",
        ),
        "events": _labelled({"topic": topics.ALERTS, "key": "alert id", "types": list(EVENT_TYPES)}, "events"),
    }


async def access(
    conn: Conn,
    box: SecretBox,
    residency: Residency,
    subject_key: str | None,
    tokens: Sequence[str],
    local_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the service holds about the person (GDPR art. 15), labels in lv/ru/en, with where each part is
    stored: per matched contact its personal fields (opened), rotas, overrides, notifications with every attempt,
    acknowledgements made through their links; plus the audit rows of the person's login."""
    rows = await contacts.find(conn, box, residency, subject_key, tokens, local_ids, living=False)
    return {
        "service": contacts.SERVICE,
        "generated_at": datetime.now(UTC).isoformat(),
        "labels": LABELS,
        "contacts": [await _contact(conn, box, residency, r) for r in rows],
        # Partners are organisations (an id, a lv/ru/en label, a kind), never a person: nothing there is personal.
        "partners": _labelled([], "partners"),
        "audit": _labelled(await audit_rows(conn, subject_key, set(tokens)), "audit"),
    }


async def retention(
    tx: Transaction,
    box: SecretBox,
    residency: Residency,
    *,
    at: datetime,
    contact_days: int | None,
    audit_identity_days: int | None = None,
) -> dict[str, int]:
    """The scheduled job: erase contacts in no rota and not active for ``contact_days`` (as an erasure request
    would, recorded as ``retention-<date>-…`` without whom), sweep orphaned rows of the countries' databases, and
    anonymise the audit log's user identities older than ``audit_identity_days``."""
    counts: dict[str, int] = {"contacts": 0}
    if contact_days is not None:
        due = [str(r["contact_id"]) for r in await db.retention_candidates(tx.conn, retention_cutoff(at, contact_days))]
        if due:
            await contacts.erase_requested(
                tx,
                box,
                None,
                request_id=f"retention-{at.date().isoformat()}-{uuid.uuid4().hex[:8]}",
                tokens=(),
                local_ids=due,
                residency=residency,
                requested="retention",
                confirm=False,
            )
            counts["contacts"] = len(due)
    counts["orphaned_personal_records"] = await residency.orphans(tx.conn)
    if audit_identity_days is not None:
        counts["audit_rows"] = await audit.anonymise(tx.conn, audit_identity_days, now=at)
    if any(counts.values()):
        log.info("privacy: retention done (%s)", counts)
    return counts
