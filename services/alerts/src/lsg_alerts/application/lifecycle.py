"""The alert lifecycle: raising an alert with its event, staff acknowledging and resolving it, reading alerts.

Every capability that raises or resolves an alert (the partner doors, heartbeats, supervision) does it through
``insert_and_announce`` and ``resolve_row`` here, so an alert's row, its history line and its event are always
written together, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.application.errors import Conflict, NotFound
from lsg_alerts.domain import lifecycle as rules
from lsg_alerts.domain.lifecycle import AlertState, LifecycleError
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import AlertAcknowledged, AlertRaised, AlertResolved, EscalationLevel, NotificationChannel
from lsg_events.geography import Place
from lsg_shared.uow import Transaction, UnitOfWork

Authorise = Callable[[Place], None]
"""The caller's check that it may act on a place (raises the entrypoint's own refusal)."""


def now() -> datetime:
    return datetime.now(UTC)


def place_of(row: asyncpg.Record) -> Place:
    return Place.model_validate(row["place"])


def area_name(device: asyncpg.Record) -> str:
    """The name an alert about `device` shows when the partner's document names no area."""
    place = place_of(device)
    unit = place.settlement or place.territory or place.municipality
    return unit.name.en if unit is not None else str(device["device_id"])


def ack_deadline(settings: AlertsSettings, severity: str, at: datetime, drill: bool) -> datetime | None:
    return rules.ack_deadline(
        severity, at, settings.ack_deadlines_s, drill=drill, escalate_drills=settings.escalate_drills
    )


def raised_detail(alert: dict[str, Any]) -> dict[str, Any]:
    """The first history line's detail of a raised alert."""
    return {"msg_type": alert["msg_type"], "cap_status": alert["cap_status"], "severity": alert["severity"]}


def raised_event(a: dict[str, Any] | asyncpg.Record) -> AlertRaised:
    """``alert.raised`` for an alert (a new one, or one an Update changed)."""
    return AlertRaised(
        alert_id=str(a["alert_id"]),
        drill=a["drill"],
        identifier=a["identifier"],
        sender=a["sender"],
        sent=a["sent"],
        status=a["cap_status"],
        msg_type=a["msg_type"],
        category=a["category"],
        event=a["event"],
        urgency=a["urgency"],
        severity=a["severity"],
        certainty=a["certainty"],
        headline=a["headline"],
        area_desc=a["area_desc"],
        place=a["place"] if isinstance(a["place"], Place) else Place.model_validate(a["place"]),
        device_id=a["device_id"],
        partner_id=a["partner_id"],
        received_at=a["received_at"],
        ack_deadline=a["ack_deadline"],
        expires=a["expires"],
        kind=a["kind"],
        level=EscalationLevel(a["escalation_level"]) if a["escalation_level"] else None,
        cap_version=a.get("cap_version"),
    )


async def insert_and_announce(tx: Transaction, alert: dict[str, Any]) -> None:
    """Store a new alert with its first history line, and its ``alert.raised`` event."""
    await db.insert_alert(
        tx.conn,
        alert,
        alert["partner_id"] if alert["origin"] == "partner" else "supervision",
        raised_detail(alert),
    )
    await tx.emit(raised_event(alert))


async def resolve_row(tx: Transaction, row: asyncpg.Record, who: str, note: str | None, at: datetime) -> None:
    await db.set_alert_state(tx.conn, row["alert_id"], AlertState.RESOLVED, at, resolved_by=who, resolved_at=at)
    await db.add_history(tx.conn, row["alert_id"], at, "resolved", actor=who, note=note)
    await db.stop_notifications(tx.conn, row["alert_id"])
    # Notes are free text and stay in the database (the history): events carry no free text.
    await tx.emit(
        AlertResolved(
            alert_id=str(row["alert_id"]), drill=row["drill"], resolved_by=who, resolved_at=at, place=place_of(row)
        )
    )


async def acknowledge_row(
    tx: Transaction,
    row: asyncpg.Record,
    who: str,
    note: str | None,
    at: datetime,
    *,
    contact_id: str | None = None,
    channel: NotificationChannel | None = None,
) -> None:
    """Acknowledge a locked alert row: its escalation and every pending notification of it stop."""
    rules.check_ack(row["state"])
    await db.set_alert_state(
        tx.conn, row["alert_id"], AlertState.ACKNOWLEDGED, at, acknowledged_by=who, acknowledged_at=at
    )
    await db.add_history(
        tx.conn,
        row["alert_id"],
        at,
        "acknowledged",
        actor=who,
        note=note,
        detail={"channel": channel.value} if channel else None,
    )
    await db.stop_notifications(tx.conn, row["alert_id"])
    deadline = row["ack_deadline"]
    await tx.emit(
        AlertAcknowledged(
            alert_id=str(row["alert_id"]),
            drill=row["drill"],
            acknowledged_by=who,
            acknowledged_at=at,
            raised_at=row["received_at"],
            severity=row["severity"],
            place=place_of(row),
            within_deadline=deadline is None or at <= deadline,
            contact_id=contact_id,
            channel=channel,
        )
    )


async def _acknowledge_by_staff(tx: Transaction, row: asyncpg.Record, who: str, note: str | None, at: datetime) -> None:
    await acknowledge_row(tx, row, who, note, at)


async def _resolve_by_staff(tx: Transaction, row: asyncpg.Record, who: str, note: str | None, at: datetime) -> None:
    rules.check_resolve(row["state"])
    await resolve_row(tx, row, who, note, at)


async def _staff_action(
    uow: UnitOfWork, action: str, alert_id: UUID, who: str, note: str | None, authorise: Authorise
) -> asyncpg.Record:
    async with uow.begin() as tx:
        row = await db.get_alert(tx.conn, alert_id, lock=True)
        if row is None:
            raise NotFound("alert", alert_id)
        authorise(place_of(row))
        apply = _acknowledge_by_staff if action == "acknowledge" else _resolve_by_staff
        try:
            await apply(tx, row, who, note, now())
        except LifecycleError as exc:
            raise Conflict(str(exc), "state") from None
        fresh = await db.get_alert(tx.conn, alert_id)
        assert fresh is not None
        return fresh


async def acknowledge(
    uow: UnitOfWork, alert_id: UUID, who: str, note: str | None, authorise: Authorise
) -> asyncpg.Record:
    """A person takes the alert (stops its escalation); returns the alert as it now is."""
    return await _staff_action(uow, "acknowledge", alert_id, who, note, authorise)


async def resolve(uow: UnitOfWork, alert_id: UUID, who: str, note: str | None, authorise: Authorise) -> asyncpg.Record:
    """A person closes the alert; returns the alert as it now is."""
    return await _staff_action(uow, "resolve", alert_id, who, note, authorise)


async def list_alerts(uow: UnitOfWork, filters: dict[str, Any]) -> list[asyncpg.Record]:
    async with uow.read() as conn:
        return await db.list_alerts(conn, filters)


async def alert_with_history(uow: UnitOfWork, alert_id: UUID) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    async with uow.read() as conn:
        row = await db.get_alert(conn, alert_id)
        if row is None:
            raise NotFound("alert", alert_id)
        return row, await db.history(conn, alert_id)
