"""The suite's public CAP feed: which alerts are public, and the CAP 1.2 messages and Atom feed made of them
(``domain/publication.py``). Reads only; nothing here writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.application.errors import NotFound
from lsg_alerts.application.lifecycle import now
from lsg_alerts.domain import publication
from lsg_alerts.domain.publication import PublicAlert
from lsg_alerts.settings import AlertsSettings
from lsg_shared.uow import UnitOfWork

FEED_LIMIT = 500


def _public(row: asyncpg.Record) -> PublicAlert:
    document: dict[str, Any] = row["cap"] if isinstance(row["cap"], dict) else {}
    return PublicAlert(
        alert_id=str(row["alert_id"]),
        state=row["state"],
        received_at=row["received_at"],
        cancelled_at=row["cancelled_at"],
        msg_type=row["msg_type"],
        document=document,
    )


async def public_alerts(uow: UnitOfWork, settings: AlertsSettings) -> list[PublicAlert]:
    """The alerts the feed carries now (Actual, scope Public, from publishing partners, not expired)."""
    at = now()
    async with uow.read() as conn:
        rows = await db.public_alerts(conn, at, at - timedelta(seconds=settings.cap_feed_cancelled_s), FEED_LIMIT)
    return [_public(r) for r in rows]


def feed(alerts: list[PublicAlert], settings: AlertsSettings, base_url: str) -> bytes:
    return publication.atom_feed(
        alerts,
        sender=settings.cap_feed_sender,
        base_url=base_url,
        title="LSG Events: public alerts (CAP 1.2)",
        generated_at=now(),
    )


async def alert_document(uow: UnitOfWork, settings: AlertsSettings, alert_id: str) -> bytes:
    """The suite's current CAP 1.2 message about one public alert (404 for any other alert)."""
    try:
        wanted = UUID(alert_id)
    except ValueError:
        raise NotFound("public alert", alert_id) from None
    for alert in await public_alerts(uow, settings):
        if alert.alert_id == str(wanted):
            return publication.cap_xml(publication.suite_message(alert, settings.cap_feed_sender))
    raise NotFound("public alert", alert_id)
