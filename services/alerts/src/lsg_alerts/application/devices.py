"""Devices: registering and installing them, staff status changes, their availability; the status change
(row, history, ``device.status_changed``) that heartbeats and supervision make too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.application.errors import Conflict, Invalid, NotFound
from lsg_alerts.application.lifecycle import Authorise, now, place_of
from lsg_alerts.domain import lifecycle as rules
from lsg_alerts.domain.lifecycle import LifecycleError, StatusSpan
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import DeviceInstalled, DeviceStatus, DeviceStatusChanged
from lsg_shared.uow import Transaction, UnitOfWork

Availability = tuple[float | None, float, float]  # (ratio, online seconds, supervised seconds)


def offline_at(settings: AlertsSettings, device: asyncpg.Record, at: datetime) -> datetime:
    """When `device` goes offline if no heartbeat comes after `at`."""
    return rules.offline_after(at, device["heartbeat_interval_s"], settings.missed_heartbeats_offline)


async def change_status(
    tx: Transaction,
    device: asyncpg.Record,
    status: DeviceStatus,
    reason: str | None,
    at: datetime,
    *,
    offline_at: datetime | None,
) -> None:
    """Store a device's new status (and its history line) with its ``device.status_changed`` event."""
    previous = device["status"]
    await db.set_device_status(tx.conn, device["device_id"], previous, status.value, reason, at, offline_at=offline_at)
    await tx.emit(
        DeviceStatusChanged(
            device_id=device["device_id"],
            place=place_of(device),
            previous_status=DeviceStatus(previous),
            status=status,
            reason=reason,
            changed_at=at,
        )
    )


async def register(uow: UnitOfWork, data: dict[str, Any]) -> asyncpg.Record:
    """A planned device (``data``: the columns, ``place`` as a Place); refused for an unknown partner or id."""
    async with uow.begin() as tx:
        if await db.get_partner(tx.conn, data["partner_id"]) is None:
            raise Invalid(
                "Unknown partner",
                f"No partner {data['partner_id']!r}.",
                [{"field": "partner_id", "message": "unknown partner"}],
            )
        if not await db.insert_device(tx.conn, data, now()):
            raise Conflict(f"Device {data['device_id']!r} is already registered.", "device_id")
        row = await db.get_device(tx.conn, data["device_id"])
        assert row is not None
        return row


async def _locked_device(tx: Transaction, device_id: str, authorise: Authorise) -> asyncpg.Record:
    row = await db.get_device(tx.conn, device_id, lock=True)
    if row is None:
        raise NotFound("device", device_id)
    authorise(place_of(row))
    return row


async def install(
    uow: UnitOfWork,
    settings: AlertsSettings,
    device_id: str,
    installed_at: datetime | None,
    lat: float | None,
    lon: float | None,
    authorise: Authorise,
) -> asyncpg.Record:
    """Record the installation (``device.installed``): the device is supervised from now on."""
    at = now()
    installed_at = installed_at or at
    async with uow.begin() as tx:
        device = await _locked_device(tx, device_id, authorise)
        try:
            rules.check_device_transition(device["status"], DeviceStatus.INSTALLED)
        except LifecycleError as exc:
            raise Conflict(str(exc), "status") from None
        await db.mark_installed(tx.conn, device_id, installed_at, lat, lon)
        await change_status(
            tx, device, DeviceStatus.INSTALLED, "installed", at, offline_at=offline_at(settings, device, at)
        )
        fresh = await db.get_device(tx.conn, device_id)
        assert fresh is not None
        await tx.emit(
            DeviceInstalled(
                device_id=fresh["device_id"],
                kind=fresh["kind"],
                place=place_of(fresh),
                latitude=fresh["latitude"],
                longitude=fresh["longitude"],
                partner_id=fresh["partner_id"],
                installed_at=installed_at,
                heartbeat_interval_s=fresh["heartbeat_interval_s"],
            )
        )
        return fresh


async def set_status(
    uow: UnitOfWork,
    settings: AlertsSettings,
    device_id: str,
    status: DeviceStatus,
    reason: str | None,
    authorise: Authorise,
) -> asyncpg.Record:
    """A staff status change (maintenance, decommissioned...)."""
    if status == DeviceStatus.INSTALLED:
        raise Invalid(
            "Use install",
            "Installation goes through POST /v1/devices/{id}/install.",
            [{"field": "status", "message": "use the install route"}],
        )
    async with uow.begin() as tx:
        device = await _locked_device(tx, device_id, authorise)
        try:
            rules.check_device_transition(device["status"], status)
        except LifecycleError as exc:
            raise Conflict(str(exc), "status") from None
        at = now()
        until = offline_at(settings, device, at) if status in rules.SUPERVISED else None
        await change_status(tx, device, status, reason, at, offline_at=until)
        fresh = await db.get_device(tx.conn, device_id)
        assert fresh is not None
        return fresh


async def with_availability(
    uow: UnitOfWork,
    status: DeviceStatus | None,
    area: str | None,
    partner_id: str | None,
    start: datetime,
    end: datetime,
) -> list[tuple[asyncpg.Record, Availability]]:
    """The devices that match, each with its availability between `start` and `end`."""
    async with uow.read() as conn:
        rows = await db.list_devices(conn, status.value if status else None, area, partner_id)
        changes = await db.status_history(conn, [r["device_id"] for r in rows])
    spans: dict[str, list[StatusSpan]] = {}
    for c in changes:
        spans.setdefault(c["device_id"], []).append(StatusSpan(c["status"], c["changed_at"]))
    return [(r, rules.availability(spans.get(r["device_id"], []), start, end)) for r in rows]


async def get(uow: UnitOfWork, device_id: str) -> asyncpg.Record:
    async with uow.read() as conn:
        row = await db.get_device(conn, device_id)
    if row is None:
        raise NotFound("device", device_id)
    return row
