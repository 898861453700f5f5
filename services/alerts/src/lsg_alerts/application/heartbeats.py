"""Heartbeats: a partner reports that a device is alive (battery, signal, tamper), through either door.

A heartbeat revives an offline (or late) device and resolves its ``device_offline`` alert; a low battery raises
a ``low_battery`` alert, a recovered one resolves it. A repeated heartbeat (same device and sent_at) is a no-op.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import ValidationError

from lsg_alerts.adapters import postgres as db
from lsg_alerts.application.devices import change_status, offline_at
from lsg_alerts.application.doors import Accepted, Inbound, PartnerDoors, device_not_allowed
from lsg_alerts.application.errors import Rejected
from lsg_alerts.application.lifecycle import now
from lsg_alerts.application.supervision import auto_resolve, raise_alert
from lsg_alerts.domain import lifecycle as rules
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import DeviceHeartbeat, DeviceStatus
from lsg_shared.uow import Transaction, UnitOfWork


async def receive(uow: UnitOfWork, doors: PartnerDoors, msg: Inbound, *, rate_limit: bool = True) -> Accepted:
    """Authenticate and apply one heartbeat."""
    await doors.authenticate(uow, msg, rate_limit=rate_limit)
    try:
        raw = json.loads(msg.body)
    except (ValueError, RecursionError) as exc:
        raise Rejected(
            400, "malformed", "Malformed document", [{"field": "body", "message": "is not valid JSON"}]
        ) from exc
    try:
        hb = DeviceHeartbeat.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()[:20]
        ]
        raise Rejected(422, "invalid-heartbeat", "Invalid heartbeat", errors) from exc
    if hb.partner_id != msg.partner_id:
        raise Rejected(
            403,
            "partner-mismatch",
            "Partner mismatch",
            [{"field": "partner_id", "message": "differs from the authenticated partner"}],
        )
    at = now()
    async with uow.begin() as tx:
        if not await db.may_speak_for(tx.conn, msg.partner_id, hb.device_id):
            raise device_not_allowed("device_id")
        values = hb.model_dump()
        if not await db.insert_heartbeat(tx.conn, values, at):
            return Accepted("duplicate")
        device = await db.get_device(tx.conn, hb.device_id, lock=True)
        assert device is not None
        await _apply(tx, doors.settings, device, values, at)
    return Accepted("heartbeat")


async def _apply(
    tx: Transaction, settings: AlertsSettings, device: asyncpg.Record, hb: dict[str, Any], at: datetime
) -> None:
    status = DeviceStatus(device["status"])
    revive = status in rules.REVIVED_BY_HEARTBEAT
    supervised = revive or status in rules.SUPERVISED
    # Any heartbeat proves the device alive; its readings count only if none sent later was applied before.
    # The two doors deliver out of order (a partner-topic backlog behind an HTTP heartbeat): a stale "battery
    # 90 %" arriving after a fresh "14 %" must not resolve the low-battery alert the fresh one raised.
    newest = await db.record_heartbeat_on_device(
        tx.conn, device["device_id"], hb, at, offline_at(settings, device, at) if supervised else None
    )
    if revive:
        await change_status(
            tx, device, DeviceStatus.ONLINE, "heartbeat", at, offline_at=offline_at(settings, device, at)
        )
        if device["offline_alert_id"] is not None:
            await auto_resolve(tx, device["offline_alert_id"], at, "heartbeat received")
            await db.set_device_alert(tx.conn, device["device_id"], "offline_alert_id", None)
    battery = hb.get("battery_pct")
    if battery is not None and newest:
        low = battery < settings.low_battery_pct
        if low and device["low_battery_alert_id"] is None:
            alert_id = await raise_alert(
                tx, settings, device, "low_battery", "Minor", f"Low battery on device {device['device_id']}", at
            )
            await db.set_device_alert(tx.conn, device["device_id"], "low_battery_alert_id", alert_id)
        elif not low and device["low_battery_alert_id"] is not None:
            await auto_resolve(tx, device["low_battery_alert_id"], at, "battery recovered")
            await db.set_device_alert(tx.conn, device["device_id"], "low_battery_alert_id", None)
