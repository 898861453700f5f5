"""What the operator console shows: the open alerts (worst first) with the time left before each escalates, who
was notified and who acknowledged; the settlements on the map; and a stamp that changes with any of it (the
ETag of the reads, the trigger of the live stream). Acknowledging and resolving go through ``lifecycle``.

Names of contacts are personal data: they are opened only for callers who may act on alerts (editors and
admins); a viewer sees contact ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts
from lsg_alerts.application.residency import NONE, Residency
from lsg_shared.uow import UnitOfWork

SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _notification(row: dict[str, Any], name: str | None) -> dict[str, Any]:
    return {
        "notification_id": str(row["notification_id"]),
        "contact_id": str(row["contact_id"]),
        "name": name,
        "level": row["level"],
        "channel": row["channel"],
        "state": row["state"],
        "attempts": row["attempts"],
        "sent_at": _ts(row["sent_at"]),
        "delivered_at": _ts(row["delivered_at"]),
        "acknowledged_at": _ts(row["ack_used_at"]),
    }


async def stamp(uow: UnitOfWork) -> str:
    async with uow.read() as conn:
        return await db.console_stamp(conn)


async def open_alerts(
    uow: UnitOfWork,
    box: SecretBox,
    at: datetime,
    *,
    with_names: bool,
    residency: Residency = NONE,
    limit: int = 200,
) -> dict[str, Any]:
    """The open alerts, worst severity first, each with its notifications; ``stamp`` is read in the same
    snapshot, so a reader holding it has seen at least this state."""
    async with uow.read() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        version = await db.console_stamp(conn)
        alerts = await db.open_alerts(conn, limit)
        rows = await db.notifications_of_alerts(conn, [a["alert_id"] for a in alerts])
    filled = await residency.fill(rows) if with_names else [dict(r) for r in rows]
    by_alert: dict[UUID, list[dict[str, Any]]] = {}
    for row in filled:
        name = None
        if with_names and row["erased_at"] is None:
            person = contacts.unseal(box, row["sealed"])
            name = person.name if person else None
        by_alert.setdefault(row["alert_id"], []).append(_notification(row, name))
    items = []
    for a in alerts:
        deadline = a["next_escalation_at"]
        contact_ack = str(a["acknowledged_by"] or "").removeprefix("contact:")
        notified = by_alert.get(a["alert_id"], [])
        by_contact = next((n for n in notified if n["contact_id"] == contact_ack), None)
        items.append(
            {
                "alert_id": str(a["alert_id"]),
                "state": a["state"],
                "kind": a["kind"],
                "drill": a["drill"],
                "severity": a["severity"],
                "event": a["event"],
                "headline": a["headline"],
                "area_desc": a["area_desc"],
                "place": a["place"],
                "device_id": a["device_id"],
                "received_at": _ts(a["received_at"]),
                "escalation_level": a["escalation_level"],
                "escalation_count": a["escalation_count"],
                "next_escalation_at": _ts(deadline),
                "seconds_to_escalation": max(0.0, (deadline - at).total_seconds()) if deadline else None,
                "acknowledged_by": a["acknowledged_by"],
                "acknowledged_by_name": by_contact["name"] if by_contact else None,
                "acknowledged_at": _ts(a["acknowledged_at"]),
                "notifications": notified,
            }
        )
    counts = {s: sum(1 for i in items if i["severity"] == s) for s in SEVERITIES}
    return {"stamp": version, "at": at.isoformat(), "by_severity": counts, "items": items}


async def settlements(uow: UnitOfWork) -> dict[str, Any]:
    """The settlements with registered coordinates (their devices' mean position) and the box around them."""
    async with uow.read() as conn:
        rows = await db.settlements(conn)
    items = [
        {
            "code": r["code"],
            "country": r["country"],
            "name": r["name"],
            "latitude": r["latitude"],
            "longitude": r["longitude"],
            "devices": r["devices"],
            "offline": r["offline"],
            "open_alerts": r["alerts"],
            "worst_severity": SEVERITIES[r["worst"]] if r["worst"] is not None else None,
        }
        for r in rows
    ]
    box = None
    if items:
        box = {
            "south": min(i["latitude"] for i in items),
            "north": max(i["latitude"] for i in items),
            "west": min(i["longitude"] for i in items),
            "east": max(i["longitude"] for i in items),
        }
    return {"items": items, "bounds": box}
