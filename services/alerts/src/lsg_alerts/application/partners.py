"""Partners (admin): registering them, their HMAC secrets (rotation, retirement), the certificates they sign CAP
with (rotation, retirement), whether their public alerts go into the suite's CAP feed, and the devices they may
speak for. Every change leaves an audit row in its transaction; secrets are shown once, when created."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import new_secret
from lsg_alerts.application.doors import PartnerDoors
from lsg_alerts.application.errors import Conflict, Invalid, NotFound
from lsg_alerts.application.lifecycle import now
from lsg_alerts.domain import xmlsig
from lsg_shared import audit
from lsg_shared.db import Conn
from lsg_shared.uow import UnitOfWork


@dataclass(frozen=True)
class PartnerView:
    """A partner as staff see it: its row, its active secrets (ids and ages only) and its devices."""

    row: asyncpg.Record
    secrets: list[asyncpg.Record]
    device_ids: list[str]
    certificates: list[asyncpg.Record]


@dataclass(frozen=True)
class NewSecret:
    secret_id: str
    secret: str  # plain text, returned once


async def _view(conn: Conn, row: asyncpg.Record) -> PartnerView:
    secrets = await db.active_secrets(conn, row["partner_id"])
    devices = await db.partner_device_ids(conn, row["partner_id"])
    return PartnerView(row, secrets, devices, await db.active_certificates(conn, row["partner_id"]))


async def _partner(conn: Conn, partner_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await (db.lock_partner(conn, partner_id) if lock else db.get_partner(conn, partner_id))
    if row is None:
        raise NotFound("partner", partner_id)
    return row


async def _add_secret(conn: Conn, doors: PartnerDoors, partner_id: str, at: datetime) -> NewSecret:
    """A new active secret; the oldest is retired beyond two active."""
    active = await db.active_secrets(conn, partner_id)
    for old in active[: max(0, len(active) - 1)]:
        await db.retire_secret(conn, partner_id, old["secret_id"], at)
    secret_id, plain = f"sec_{uuid.uuid4().hex[:12]}", new_secret()
    await db.insert_secret(conn, secret_id, partner_id, doors.box.encrypt(plain), at)
    doors.forget_partner(partner_id)
    return NewSecret(secret_id, plain)


async def register(
    uow: UnitOfWork, doors: PartnerDoors, partner_id: str, label: dict[str, Any] | None, kind: str
) -> tuple[PartnerView, NewSecret]:
    """A new partner with its first secret."""
    async with uow.begin() as tx:
        if not await db.insert_partner(tx.conn, partner_id, label, kind):
            raise Conflict(f"Partner {partner_id!r} is already registered.", "partner_id")
        secret = await _add_secret(tx.conn, doors, partner_id, now())
        await audit.change(
            tx.conn,
            "partner.created",
            resource={"partner_id": partner_id},
            detail={"kind": kind, "secret_id": secret.secret_id},
        )
        return await _view(tx.conn, await _partner(tx.conn, partner_id)), secret


async def all_partners(uow: UnitOfWork) -> list[PartnerView]:
    async with uow.read() as conn:
        return [await _view(conn, r) for r in await db.list_partners(conn)]


async def get(uow: UnitOfWork, partner_id: str) -> PartnerView:
    async with uow.read() as conn:
        return await _view(conn, await _partner(conn, partner_id))


async def rotate_secret(uow: UnitOfWork, doors: PartnerDoors, partner_id: str) -> NewSecret:
    """Add a secret (returned once); beyond two active, the oldest is retired."""
    async with uow.begin() as tx:
        await _partner(tx.conn, partner_id, lock=True)
        before = {s["secret_id"] for s in await db.active_secrets(tx.conn, partner_id)}
        secret = await _add_secret(tx.conn, doors, partner_id, now())
        active = [s["secret_id"] for s in await db.active_secrets(tx.conn, partner_id)]
        detail = {
            "secret_id": secret.secret_id,
            "active_secret_ids": active,
            "retired_secret_ids": sorted(before - {*active}),
        }
        await audit.change(tx.conn, "partner.secret_rotated", resource={"partner_id": partner_id}, detail=detail)
    return secret


async def retire_secret(uow: UnitOfWork, doors: PartnerDoors, partner_id: str, secret_id: str) -> None:
    async with uow.begin() as tx:
        await _partner(tx.conn, partner_id, lock=True)
        if not await db.retire_secret(tx.conn, partner_id, secret_id, now()):
            raise NotFound("active secret", secret_id)
        await audit.change(
            tx.conn, "partner.secret_retired", resource={"partner_id": partner_id, "secret_id": secret_id}
        )
    doors.forget_partner(partner_id)


async def set_devices(uow: UnitOfWork, partner_id: str, device_ids: list[str]) -> PartnerView:
    """The devices a partner may speak for besides those it owns (all must be registered)."""
    async with uow.begin() as tx:
        row = await _partner(tx.conn, partner_id, lock=True)
        known = await db.existing_device_ids(tx.conn, device_ids)
        unknown = [d for d in device_ids if d not in known]
        if unknown:
            raise Invalid(
                "Unknown device",
                "Some devices are not registered.",
                [{"field": f"device_ids[{device_ids.index(d)}]", "message": "unknown device"} for d in unknown],
            )
        await db.revoke_other_devices(tx.conn, partner_id, device_ids)
        await db.grant_devices(tx.conn, partner_id, device_ids)
        await audit.change(
            tx.conn, "partner.devices_set", resource={"partner_id": partner_id}, detail={"device_ids": device_ids}
        )
        return await _view(tx.conn, row)


MAX_ACTIVE_CERTIFICATES = 2


async def add_certificate(uow: UnitOfWork, doors: PartnerDoors, partner_id: str, pem: str) -> asyncpg.Record:
    """Register a certificate the partner signs CAP with (rotation: beyond two active, the oldest is retired).
    From then on the partner's CAP must be XML carrying a signature that one of its certificates verifies."""
    try:
        cert = xmlsig.load_certificate(pem)
    except ValueError as exc:
        raise Invalid(
            "Invalid certificate", "The certificate cannot be read.", [{"field": "pem", "message": str(exc)}]
        ) from None
    at = now()
    if cert.not_after <= at:
        raise Invalid("Invalid certificate", "The certificate has expired.", [{"field": "pem", "message": "expired"}])
    async with uow.begin() as tx:
        await _partner(tx.conn, partner_id, lock=True)
        active = await db.active_certificates(tx.conn, partner_id)
        if any(c["fingerprint"] == cert.fingerprint for c in active):
            raise Conflict("This certificate is already registered for the partner.", "pem")
        retired = [c["certificate_id"] for c in active[: max(0, len(active) - MAX_ACTIVE_CERTIFICATES + 1)]]
        for certificate_id in retired:
            await db.retire_certificate(tx.conn, partner_id, certificate_id, at)
        certificate_id = f"crt_{uuid.uuid4().hex[:12]}"
        fields = {"fingerprint": cert.fingerprint, "subject": cert.subject, "not_after": cert.not_after}
        await db.insert_certificate(tx.conn, certificate_id, partner_id, doors.box.encrypt(cert.pem), fields, at)
        active_ids = [c["certificate_id"] for c in await db.active_certificates(tx.conn, partner_id)]
        await audit.change(
            tx.conn,
            "partner.certificate_added",
            resource={"partner_id": partner_id},
            detail={
                "certificate_id": certificate_id,
                "fingerprint": cert.fingerprint,
                "active_certificate_ids": active_ids,
                "retired_certificate_ids": retired,
            },
        )
        row = next(
            c for c in await db.active_certificates(tx.conn, partner_id) if c["certificate_id"] == certificate_id
        )
    doors.forget_partner(partner_id)
    return row


async def retire_certificate(uow: UnitOfWork, doors: PartnerDoors, partner_id: str, certificate_id: str) -> None:
    async with uow.begin() as tx:
        await _partner(tx.conn, partner_id, lock=True)
        if not await db.retire_certificate(tx.conn, partner_id, certificate_id, now()):
            raise NotFound("active certificate", certificate_id)
        await audit.change(
            tx.conn,
            "partner.certificate_retired",
            resource={"partner_id": partner_id, "certificate_id": certificate_id},
        )
    doors.forget_partner(partner_id)


async def set_publish(uow: UnitOfWork, partner_id: str, publish: bool) -> PartnerView:
    """Whether the partner's public, actual alerts go into the suite's CAP feed."""
    async with uow.begin() as tx:
        await _partner(tx.conn, partner_id, lock=True)
        await db.set_publish(tx.conn, partner_id, publish)
        await audit.change(
            tx.conn, "partner.publish_set", resource={"partner_id": partner_id}, detail={"publish": publish}
        )
        return await _view(tx.conn, await _partner(tx.conn, partner_id))
