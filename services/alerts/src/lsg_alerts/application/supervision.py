"""Supervision: escalate alerts nobody acknowledged in time, take silent devices offline, and the alerts the
service raises (and resolves) itself about its devices: ``device_offline`` and ``low_battery``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.application.devices import change_status
from lsg_alerts.application.lifecycle import (
    ack_deadline,
    area_name,
    insert_and_announce,
    now,
    place_of,
    resolve_row,
)
from lsg_alerts.domain import lifecycle as rules
from lsg_alerts.domain.lifecycle import AlertState
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import AlertEscalated, DeviceStatus, EscalationLevel
from lsg_shared.uow import Transaction, UnitOfWork

SUPERVISION_SENDER = "urn:lsg:alerts:supervision"


async def raise_alert(
    tx: Transaction,
    settings: AlertsSettings,
    device: asyncpg.Record,
    kind: str,
    severity: str,
    headline: str,
    at: datetime,
) -> UUID:
    """An alert the service raises about one of its devices; returns its id."""
    alert_id = uuid.uuid4()
    alert = {
        "alert_id": alert_id,
        "origin": "supervision",
        "kind": kind,
        "partner_id": device["partner_id"],
        "device_id": device["device_id"],
        "sender": SUPERVISION_SENDER,
        "identifier": f"{kind}-{alert_id}",
        "sent": at,
        "cap_status": "Actual",
        "msg_type": "Alert",
        "drill": False,
        "category": "Infra",
        "event": kind,
        "urgency": "Expected",
        "severity": severity,
        "certainty": "Observed",
        "headline": headline,
        "area_desc": area_name(device),
        "place": place_of(device),
        "expires": None,
        "received_at": at,
        "escalation_level": rules.LADDER[0].value,
        "ack_deadline": ack_deadline(settings, severity, at, False),
        "cap": None,
    }
    await insert_and_announce(tx, alert)
    return alert_id


async def auto_resolve(tx: Transaction, alert_id: UUID, at: datetime, why: str) -> None:
    """Resolve an alert the service raised, once its cause is gone (unless a person closed it already)."""
    row = await db.get_alert(tx.conn, alert_id, lock=True)
    if row is None or row["state"] not in AlertState.OPEN:
        return
    await resolve_row(tx, row, "system:supervision", why, at)


async def supervise_once(uow: UnitOfWork, settings: AlertsSettings, at: datetime | None = None) -> tuple[int, int]:
    """Escalate overdue alerts and take silent devices offline. Returns (escalated, went offline)."""
    at = at or now()
    escalated = offline = 0
    async with uow.begin() as tx:
        for row in await db.due_escalations(tx.conn, at):
            await _escalate(tx, settings, row, at)
            escalated += 1
    async with uow.begin() as tx:
        for device in await db.due_offline(tx.conn, at):
            await _go_offline(tx, settings, device, at)
            offline += 1
    return escalated, offline


async def _escalate(tx: Transaction, settings: AlertsSettings, row: asyncpg.Record, at: datetime) -> None:
    previous = EscalationLevel(row["escalation_level"]) if row["escalation_level"] else None
    level = rules.next_level(previous)
    count = row["escalation_count"] + 1
    seconds = settings.ack_deadlines_s.get(row["severity"])
    next_at = at + timedelta(seconds=seconds) if seconds else None
    await db.set_escalated(tx.conn, row["alert_id"], level.value, count, next_at)
    await db.add_history(tx.conn, row["alert_id"], at, "escalated", actor="supervision", level=level.value)
    if rules.notifies(row["severity"]):  # reach the new level's person on call (the sender expands the page)
        await db.add_page(tx.conn, row["alert_id"], level.value, row["drill"], at)
    await tx.emit(
        AlertEscalated(
            alert_id=str(row["alert_id"]),
            drill=row["drill"],
            level=level,
            escalated_at=at,
            severity=row["severity"],
            place=place_of(row),
            escalation_count=count,
            previous_level=previous,
        )
    )


async def _go_offline(tx: Transaction, settings: AlertsSettings, device: asyncpg.Record, at: datetime) -> None:
    missed = settings.missed_heartbeats_offline
    await change_status(tx, device, DeviceStatus.OFFLINE, f"{missed} heartbeat intervals missed", at, offline_at=None)
    if device["offline_alert_id"] is None:
        alert_id = await raise_alert(
            tx,
            settings,
            device,
            "device_offline",
            settings.offline_alert_severity,
            f"Device {device['device_id']} is offline",
            at,
        )
        await db.set_device_alert(tx.conn, device["device_id"], "offline_alert_id", alert_id)
