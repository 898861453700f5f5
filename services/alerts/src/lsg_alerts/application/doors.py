"""The partner doors: one pipeline behind the HTTP door and the partner topic, and CAP alerts through it.

Both doors hand an ``Inbound`` to ``PartnerDoors``. It checks, in order: size, the partner's signature (401),
the partner's rate (HTTP only, 429; one limit shared by every replica, ``rate_limit.py``), the document (400
malformed, 422 invalid CAP or heartbeat), the partner's right to the device (403); then writes the effect and
its events (through the outbox) in one transaction. A refusal is a ``Rejected`` carrying the HTTP status, a
short reason code (the DLQ reason on Kafka) and the fields at fault. CAP 1.1 and 1.0 documents are normalised
to 1.2 (``cap.parse``; the version that arrived is stored and announced). Where the partner registered
certificates, its CAP must be XML carrying an enveloped XML signature one of them verifies (401 otherwise),
checked after the document; without certificates a signature in the document is accepted unverified (no
signature work at all on the common path). A repeated CAP message (same sender, identifier and sent) is a
no-op; heartbeats go through ``heartbeats.receive`` with the same authentication.

When PostgreSQL cannot be reached (stopped, network cut, pool exhausted) the use cases raise what the driver
raises; ``UNAVAILABLE`` lists those errors and ``unavailable()`` is the HTTP door's answer to them: 503 with
``Retry-After``, never 500. Nothing was accepted then (the claim, the alert and its event are one statement or
one transaction), so the partner's retry with the same identifier is accepted once, or answered 200 duplicate
when the statement had committed before the connection broke. The partner topic does not use it: its consumer
treats the same errors as the infrastructure being away and retries the record.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application.errors import Rejected
from lsg_alerts.application.lifecycle import (
    ack_deadline,
    area_name,
    insert_and_announce,
    now,
    place_of,
    raised_detail,
    raised_event,
)
from lsg_alerts.application.rate_limit import SharedRateLimit
from lsg_alerts.domain import cap, signing, xmlsig
from lsg_alerts.domain import lifecycle as rules
from lsg_alerts.domain.lifecycle import AlertState, LifecycleError
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import AlertCancelled
from lsg_events.geography import Place
from lsg_shared import outbox
from lsg_shared.consumer import INFRASTRUCTURE_ERRORS
from lsg_shared.uow import Transaction, UnitOfWork


def device_not_allowed(field: str = f"parameter:{cap.DEVICE_PARAMETER}") -> Rejected:
    return Rejected(
        403,
        "device-not-allowed",
        "Device not allowed",
        [{"field": field, "message": "this partner may not speak for it"}],
    )


# What the driver raises when the database is away: the HTTP door answers 503 with Retry-After (never 500).
UNAVAILABLE: tuple[type[BaseException], ...] = INFRASTRUCTURE_ERRORS
UNAVAILABLE_RETRY_AFTER_S = 5.0


def unavailable(exc: BaseException) -> Rejected:
    """The door's answer while the database cannot be reached: nothing was accepted, retry the same message."""
    return Rejected(
        503,
        "unavailable",
        "Service unavailable",
        [
            {
                "field": "database",
                "message": f"cannot be reached ({type(exc).__name__}); nothing was accepted: send the same "
                "message again after Retry-After",
            }
        ],
        retry_after=UNAVAILABLE_RETRY_AFTER_S,
    )


def _field_errors(errors: list[cap.CapError] | tuple[cap.CapError, ...]) -> list[dict[str, str]]:
    return [{"field": e.path, "message": e.message} for e in errors]


@dataclass(frozen=True)
class Inbound:
    """One partner document as a door received it."""

    door: Literal["http", "kafka"]
    partner_id: str
    timestamp: str | None
    signature: str | None
    body: bytes
    content_type: str | None
    reference_time: float  # the time the signature's timestamp is compared with (Unix seconds)


@dataclass(frozen=True)
class Accepted:
    outcome: str  # raised | updated | cancelled | recorded | duplicate | heartbeat
    alert_ids: tuple[str, ...] = ()
    drill: bool = False

    @property
    def status(self) -> int:
        """The HTTP door's answer (and what the audit log records for either door): a repeat changed nothing."""
        return 200 if self.outcome == "duplicate" else 202

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": self.outcome, "alert_ids": list(self.alert_ids)}
        if self.alert_ids:
            body["alert_id"] = self.alert_ids[0]
        if self.drill:
            body["drill"] = True
        return body


@dataclass(frozen=True, slots=True)
class _DevicePlace:
    device_id: str
    place: Place
    place_json: dict[str, Any]
    area_name: str


class PartnerDoors:
    """What the doors keep across requests: settings, the secret box, partner secrets, device places, rates."""

    def __init__(self, settings: AlertsSettings, box: SecretBox) -> None:
        self.settings = settings
        self.box = box
        self.rate_limit = SharedRateLimit(settings.partner_rate_per_s, settings.partner_rate_burst)
        self._secrets: dict[str, tuple[float, list[str], list[str]]] = {}  # partner -> (expiry, secrets, certs)
        self._cache_s = 5.0
        # device id -> (expiry, the device's place): the alert path needs only the place, which never changes
        # after registration (no route or job updates it); the right to speak for a device is checked in the
        # database on every alert, never cached.
        self._devices: dict[str, tuple[float, _DevicePlace]] = {}
        self._device_cache_s = 60.0

    # ---- authentication ---------------------------------------------------------------------------
    def forget_partner(self, partner_id: str) -> None:
        """Drop the cached secrets of a partner (after a rotation or retirement)."""
        self._secrets.pop(partner_id, None)

    async def _credentials(self, uow: UnitOfWork, partner_id: str) -> tuple[list[str], list[str]]:
        """The partner's active HMAC secrets and signing certificates (PEM), cached for a few seconds."""
        cached = self._secrets.get(partner_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1], cached[2]
        async with uow.read() as conn:
            partner = await db.get_partner(conn, partner_id)
            active = partner is not None and partner["active"]
            rows = await db.active_secrets(conn, partner_id) if active else []
            certs = await db.active_certificates(conn, partner_id) if active else []
        plain = [s for s in (self.box.decrypt(r["ciphertext"]) for r in rows) if s is not None]
        pems = [c for c in (self.box.decrypt(r["ciphertext"]) for r in certs) if c is not None]
        if len(self._secrets) >= 10_000:
            self._secrets.clear()
        self._secrets[partner_id] = (time.monotonic() + self._cache_s, plain, pems)
        return plain, pems

    async def _partner_secrets(self, uow: UnitOfWork, partner_id: str) -> list[str]:
        return (await self._credentials(uow, partner_id))[0]

    async def check_xml_signature(self, uow: UnitOfWork, msg: Inbound, doc: cap.CapAlert) -> None:
        """Where the partner registered certificates: the document must be signed by one of them (401)."""
        _, certificates = await self._credentials(uow, msg.partner_id)
        if not certificates:
            return  # a signature may be there (CAP 1.2 allows it); with nothing registered it is not verified
        if not doc.signed:
            raise Rejected(
                401,
                "xml-signature-required",
                "XML signature required",
                [
                    {
                        "field": "alert.Signature",
                        "message": "this partner registered a signing certificate: send CAP 1.2 XML with an "
                        "enveloped ds:Signature as the alert's last child",
                    }
                ],
            )
        try:
            xmlsig.verify(msg.body, certificates)
        except xmlsig.SignatureRefused as exc:
            raise Rejected(
                401,
                "bad-xml-signature",
                "XML signature refused",
                [{"field": "alert.Signature", "message": exc.message}],
            ) from None

    async def _device_place(self, uow: UnitOfWork, device_id: str) -> _DevicePlace | None:
        cached = self._devices.get(device_id)
        at = time.monotonic()
        if cached is not None and cached[0] > at:
            return cached[1]
        async with uow.read() as conn:
            row = await db.device_place(conn, device_id)
        if row is None:
            return None
        place = Place.model_validate(row["place"])
        unit = place.settlement or place.territory or place.municipality
        found = _DevicePlace(
            row["device_id"],
            place,
            place.model_dump(mode="json"),
            unit.name.en if unit is not None else str(row["device_id"]),
        )
        if len(self._devices) >= 10_000:
            self._devices.clear()  # bounded (the programme has 35 devices; this guards against a flood of ids)
        self._devices[device_id] = (at + self._device_cache_s, found)
        return found

    async def authenticate(self, uow: UnitOfWork, msg: Inbound, *, rate_limit: bool) -> None:
        if len(msg.body) > self.settings.partner_max_bytes:
            raise Rejected(
                413,
                "too-large",
                "Payload too large",
                [{"field": "body", "message": f"is larger than {self.settings.partner_max_bytes} bytes"}],
            )
        ts_field, sig_field = (
            ("X-LSG-Timestamp", "X-LSG-Signature") if msg.door == "http" else ("x-lsg-timestamp", "x-lsg-signature")
        )
        secrets = await self._partner_secrets(uow, msg.partner_id) if len(msg.partner_id) <= 200 else []
        try:
            signing.verify(
                secrets=secrets,
                timestamp_header=msg.timestamp,
                signature_header=msg.signature,
                body=msg.body,
                reference_time=msg.reference_time,
                tolerance_s=self.settings.signature_tolerance_s,
                timestamp_field=ts_field,
                signature_field=sig_field,
            )
        except signing.SignatureProblem as exc:
            # An unknown partner fails like a wrong signature: strangers learn nothing about partner ids.
            error = {"field": exc.field, "message": exc.message}
            if exc.code:
                error["code"] = exc.code  # e.g. clock-skew: the partner's clock, not its secret, is wrong
            raise Rejected(401, "bad-signature", "Signature refused", [error]) from None
        if rate_limit:
            wait = await self.rate_limit.take(uow, msg.partner_id)
            if wait > 0:
                raise Rejected(
                    429,
                    "rate-limited",
                    "Too many requests",
                    [{"field": "partner_id", "message": "this partner's request rate is over its limit"}],
                    retry_after=wait,
                )

    # ---- CAP alerts -------------------------------------------------------------------------------
    async def alert(self, uow: UnitOfWork, msg: Inbound, *, rate_limit: bool = True) -> Accepted:
        """A partner's CAP message: raise, update or cancel alerts, or record it (Ack, Error, drills...)."""
        await self.authenticate(uow, msg, rate_limit=rate_limit)
        try:
            doc = cap.parse(msg.body, msg.content_type)
        except cap.CapInvalid as exc:
            if exc.malformed:
                raise Rejected(400, "malformed", "Malformed document", _field_errors(exc.errors)) from exc
            raise Rejected(422, "invalid-cap", "Invalid CAP 1.2 alert", _field_errors(exc.errors)) from exc
        await self.check_xml_signature(uow, msg, doc)
        raises = doc.msg_type in ("Alert", "Update") and doc.actionable
        if raises and not doc.info:
            raise Rejected(
                422,
                "invalid-cap",
                "Invalid CAP 1.2 alert",
                [{"field": "alert.info", "message": f"an {doc.status} {doc.msg_type} needs at least one info block"}],
            )
        device_id = doc.device_id
        if doc.msg_type == "Alert" and doc.actionable and not device_id:
            raise Rejected(
                422,
                "missing-device",
                "Invalid alert",
                [
                    {
                        "field": "alert.info[0].parameter",
                        "message": f"a parameter with valueName '{cap.DEVICE_PARAMETER}' must name the device",
                    }
                ],
            )
        at = now()
        new_alert_id = uuid.uuid4() if doc.msg_type == "Alert" and doc.actionable else None
        claim = {
            "sender": doc.sender,
            "identifier": doc.identifier,
            "sent": doc.sent,
            "partner_id": msg.partner_id,
            "door": msg.door,
            "msg_type": doc.msg_type,
            "cap_status": doc.status,
            "received_at": at,
            "alert_id": new_alert_id,
            "cap_version": doc.version,
        }
        if doc.msg_type == "Alert" and doc.actionable and device_id is not None:
            known = await self._device_place(uow, device_id)
            if known is not None:
                assert new_alert_id is not None
                return await self._raise_in_one_statement(uow, doc, msg.partner_id, known, claim, at)
        async with uow.begin() as tx:
            device: asyncpg.Record | None = None
            if device_id is not None:
                device = await db.claim_for_device(tx.conn, claim, device_id)
                if not device["allowed"]:
                    raise device_not_allowed()
                claimed = bool(device["fresh"])
            else:
                claimed = await db.claim_cap_message(tx.conn, claim) is not None
            if not claimed:
                previous = await db.cap_message(tx.conn, doc.sender, doc.identifier, doc.sent)
                ids = (str(previous["alert_id"]),) if previous is not None and previous["alert_id"] else ()
                return Accepted("duplicate", ids)
            if not doc.actionable or doc.msg_type in ("Ack", "Error"):
                return Accepted("recorded")
            if doc.msg_type == "Alert":
                assert device is not None
                assert new_alert_id is not None
                alert = self._cap_alert(
                    doc, msg.partner_id, device["device_id"], place_of(device), area_name(device), new_alert_id, at
                )
                await insert_and_announce(tx, alert)
                return Accepted("raised", (str(new_alert_id),), doc.drill)
            targets = await self._referenced_alerts(tx, doc, msg.partner_id)
            if doc.msg_type == "Update":
                for row in targets:
                    await self._update_from_cap(tx, row, doc, at)
                return Accepted("updated", tuple(str(r["alert_id"]) for r in targets), bool(targets[0]["drill"]))
            for row in targets:
                await self._cancel(tx, row, doc, at)
            return Accepted("cancelled", tuple(str(r["alert_id"]) for r in targets), bool(targets[0]["drill"]))

    async def _raise_in_one_statement(
        self,
        uow: UnitOfWork,
        doc: cap.CapAlert,
        partner_id: str,
        device: _DevicePlace,
        claim: dict[str, Any],
        at: datetime,
    ) -> Accepted:
        """A new alert about a known device: the claim, the alert, its history and its event in one round trip
        (the same effects, checks and order of refusals as the general path). One statement is atomic on its
        own: no transaction (BEGIN and COMMIT would be two more round trips on the latency-critical path)."""
        alert = self._cap_alert(
            doc, partner_id, device.device_id, device.place, device.area_name, claim["alert_id"], at
        )
        alert["place_json"] = device.place_json
        row = outbox.encode(uow.event(raised_event(alert)))[0]
        async with uow.pool.acquire() as conn:
            allowed, fresh = await db.raise_for_device(conn, claim, alert, partner_id, raised_detail(alert), row)
            if not allowed:
                raise device_not_allowed()
            if not fresh:
                previous = await db.cap_message(conn, doc.sender, doc.identifier, doc.sent)
        if not fresh:
            ids = (str(previous["alert_id"]),) if previous is not None and previous["alert_id"] else ()
            return Accepted("duplicate", ids)
        return Accepted("raised", (str(claim["alert_id"]),), doc.drill)

    @staticmethod
    def _content(doc: cap.CapAlert, info: cap.Info, at: datetime) -> dict[str, Any]:
        return {
            "category": info.categories[0],
            "event": info.event,
            "urgency": info.urgency,
            "severity": info.severity,
            "certainty": info.certainty,
            "headline": info.headline,
            "area_desc": doc.area_desc or info.event,
            "expires": info.expires,
            "received_at": at,
            "cap": doc.document,
            "cap_version": doc.version,
        }

    def _cap_alert(
        self,
        doc: cap.CapAlert,
        partner_id: str,
        device_id: str,
        place: Place,
        area: str,
        alert_id: UUID,
        at: datetime,
    ) -> dict[str, Any]:
        info = doc.info[0]
        content = self._content(doc, info, at)
        if not doc.area_desc:
            content["area_desc"] = area
        return {
            "alert_id": alert_id,
            "origin": "partner",
            "kind": "cap",
            "partner_id": partner_id,
            "device_id": device_id,
            "sender": doc.sender,
            "identifier": doc.identifier,
            "sent": doc.sent,
            "cap_status": doc.status,
            "msg_type": doc.msg_type,
            "drill": doc.drill,
            "place": place,
            "escalation_level": rules.LADDER[0].value,
            "ack_deadline": ack_deadline(self.settings, info.severity, at, doc.drill),
            **content,
        }

    async def _referenced_alerts(self, tx: Transaction, doc: cap.CapAlert, partner_id: str) -> list[asyncpg.Record]:
        found: dict[UUID, asyncpg.Record] = {}
        for ref in doc.references:
            message = await db.cap_message(tx.conn, ref.sender, ref.identifier, ref.sent)
            if message is None or message["alert_id"] is None:
                continue
            if message["partner_id"] != partner_id:
                raise Rejected(
                    403,
                    "reference-not-allowed",
                    "Alert not allowed",
                    [{"field": "alert.references", "message": "names an alert another partner sent"}],
                )
            row = await db.get_alert(tx.conn, message["alert_id"], lock=True)
            if row is not None:
                found[row["alert_id"]] = row
        if not found:
            raise Rejected(
                422,
                "unknown-reference",
                "Unknown original alert",
                [{"field": "alert.references", "message": f"names no alert received before ({doc.msg_type} refused)"}],
            )
        rows = list(found.values())
        for row in rows:
            try:
                rules.check_update(row["state"])
            except LifecycleError as exc:
                raise Rejected(
                    409, "alert-closed", "Alert closed", [{"field": "alert.references", "message": str(exc)}]
                ) from exc
        return rows

    async def _update_from_cap(self, tx: Transaction, row: asyncpg.Record, doc: cap.CapAlert, at: datetime) -> None:
        info = doc.info[0]
        content = self._content(doc, info, at)
        if not doc.area_desc:
            content["area_desc"] = row["area_desc"]
        deadline = row["ack_deadline"]
        if row["state"] == AlertState.RAISED:
            # A graver update shortens the deadline; a milder one never lengthens what already runs.
            fresh = ack_deadline(self.settings, info.severity, at, row["drill"])
            deadline = min(d for d in (fresh, row["next_escalation_at"]) if d is not None) if fresh else None
        content["ack_deadline"] = deadline
        await db.update_alert_content(tx.conn, row["alert_id"], content)
        await db.link_cap_message(tx.conn, doc.sender, doc.identifier, doc.sent, row["alert_id"])
        await db.add_history(
            tx.conn,
            row["alert_id"],
            at,
            "updated",
            actor=row["partner_id"],
            detail={"identifier": doc.identifier, "severity": info.severity, "urgency": info.urgency},
        )
        updated = await db.get_alert(tx.conn, row["alert_id"])
        assert updated is not None
        await tx.emit(raised_event(updated))

    async def _cancel(self, tx: Transaction, row: asyncpg.Record, doc: cap.CapAlert, at: datetime) -> None:
        await db.set_alert_state(tx.conn, row["alert_id"], AlertState.CANCELLED, at, cancelled_at=at)
        await db.stop_notifications(tx.conn, row["alert_id"])
        await db.link_cap_message(tx.conn, doc.sender, doc.identifier, doc.sent, row["alert_id"])
        await db.add_history(
            tx.conn, row["alert_id"], at, "cancelled", actor=row["partner_id"], detail={"identifier": doc.identifier}
        )
        await tx.emit(
            AlertCancelled(alert_id=str(row["alert_id"]), drill=row["drill"], cancelled_at=at, place=place_of(row))
        )
