"""The alerts service layer: one ingestion pipeline behind both partner doors, the lifecycle, supervision.

Both doors (HTTP and the partner topic) hand an ``Inbound`` to ``Ingestor``. It checks, in order: size,
the partner's signature (401), the partner's rate (HTTP only, 429), the document (400 malformed, 422
invalid CAP or heartbeat), the partner's right to the device (403); then writes the effect and its events
(through the outbox) in one transaction. A refusal is a ``Rejected`` carrying the HTTP status, a short
reason code (the DLQ reason on Kafka) and the fields at fault. A repeated CAP message (same sender,
identifier and sent) or heartbeat (same device and sent_at) is a no-op.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox, new_secret
from lsg_alerts.domain import cap, lifecycle, signing
from lsg_alerts.domain.lifecycle import AlertState, LifecycleError
from lsg_alerts.domain.ratelimit import TokenBuckets
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import (
    AlertAcknowledged,
    AlertCancelled,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    DeviceHeartbeat,
    DeviceInstalled,
    DeviceStatus,
    DeviceStatusChanged,
    EscalationLevel,
)
from lsg_events.base import EventData
from lsg_events.envelope import CloudEvent
from lsg_events.geography import Place
from lsg_shared import outbox
from lsg_shared.db import Conn

log = logging.getLogger(__name__)

EventFactory = Callable[[EventData], CloudEvent]
SUPERVISION_SENDER = "urn:lsg:alerts:supervision"


@dataclass(eq=False)
class Rejected(Exception):
    status: int
    reason: str
    title: str
    errors: list[dict[str, str]] = field(default_factory=list)
    retry_after: float | None = None

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        if not self.errors:
            return self.title
        return "; ".join(f"{e['field']}: {e['message']}" for e in self.errors[:10])


def _device_not_allowed() -> Rejected:
    return Rejected(
        403,
        "device-not-allowed",
        "Device not allowed",
        [{"field": f"parameter:{cap.DEVICE_PARAMETER}", "message": "this partner may not speak for it"}],
    )


def _field_errors(errors: Sequence[cap.CapError]) -> list[dict[str, str]]:
    return [{"field": e.path, "message": e.message} for e in errors]


@dataclass(frozen=True)
class Inbound:
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


def _now() -> datetime:
    return datetime.now(UTC)


def _place(row: asyncpg.Record) -> Place:
    return Place.model_validate(row["place"])


def _area_name(device: asyncpg.Record) -> str:
    place = _place(device)
    unit = place.settlement or place.territory or place.municipality
    return unit.name.en if unit is not None else str(device["device_id"])


@dataclass(frozen=True, slots=True)
class _DevicePlace:
    device_id: str
    place: Place
    place_json: dict[str, Any]
    area_name: str


class Ingestor:
    """Holds what the pipeline needs across requests: settings, secret box, partner cache, rate buckets."""

    def __init__(self, settings: AlertsSettings, box: SecretBox, make_event: EventFactory) -> None:
        self.settings = settings
        self.box = box
        self.make_event = make_event
        self.buckets = TokenBuckets(settings.partner_rate_per_s, settings.partner_rate_burst)
        self._secrets: dict[str, tuple[float, list[str]]] = {}
        self._cache_s = 5.0
        # device id -> (expiry, the device's place): the alert path needs only the place, which never changes
        # after registration (no route or job updates it); the right to speak for a device is checked in the
        # database on every alert, never cached.
        self._devices: dict[str, tuple[float, _DevicePlace]] = {}
        self._device_cache_s = 60.0

    # ---- authentication ---------------------------------------------------------------------------
    def forget_partner(self, partner_id: str) -> None:
        self._secrets.pop(partner_id, None)

    async def _partner_secrets(self, pool: asyncpg.Pool, partner_id: str) -> list[str]:
        cached = self._secrets.get(partner_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with pool.acquire() as conn:
            partner = await db.get_partner(conn, partner_id)
            rows = await db.active_secrets(conn, partner_id) if partner is not None and partner["active"] else []
        plain = [s for s in (self.box.decrypt(r["ciphertext"]) for r in rows) if s is not None]
        self._secrets[partner_id] = (time.monotonic() + self._cache_s, plain)
        return plain

    async def _device_place(self, pool: asyncpg.Pool, device_id: str) -> _DevicePlace | None:
        cached = self._devices.get(device_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        async with pool.acquire() as conn:
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
        self._devices[device_id] = (now + self._device_cache_s, found)
        return found

    async def authenticate(self, pool: asyncpg.Pool, msg: Inbound, *, rate_limit: bool) -> None:
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
        secrets = await self._partner_secrets(pool, msg.partner_id) if len(msg.partner_id) <= 200 else []
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
            raise Rejected(
                401, "bad-signature", "Signature refused", [{"field": exc.field, "message": exc.message}]
            ) from None
        if rate_limit:
            wait = self.buckets.take(msg.partner_id)
            if wait > 0:
                raise Rejected(
                    429,
                    "rate-limited",
                    "Too many requests",
                    [{"field": "partner_id", "message": "this partner's request rate is over its limit"}],
                    retry_after=wait,
                )

    # ---- alerts -----------------------------------------------------------------------------------
    async def alert(self, pool: asyncpg.Pool, msg: Inbound, *, rate_limit: bool = True) -> Accepted:
        await self.authenticate(pool, msg, rate_limit=rate_limit)
        try:
            doc = cap.parse(msg.body, msg.content_type)
        except cap.CapInvalid as exc:
            if exc.malformed:
                raise Rejected(400, "malformed", "Malformed document", _field_errors(exc.errors)) from exc
            raise Rejected(422, "invalid-cap", "Invalid CAP 1.2 alert", _field_errors(exc.errors)) from exc
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
        now = _now()
        new_alert_id = uuid.uuid4() if doc.msg_type == "Alert" and doc.actionable else None
        claim = {
            "sender": doc.sender,
            "identifier": doc.identifier,
            "sent": doc.sent,
            "partner_id": msg.partner_id,
            "door": msg.door,
            "msg_type": doc.msg_type,
            "cap_status": doc.status,
            "received_at": now,
            "alert_id": new_alert_id,
        }
        if doc.msg_type == "Alert" and doc.actionable and device_id is not None:
            known = await self._device_place(pool, device_id)
            if known is not None:
                assert new_alert_id is not None
                return await self._raise_in_one_statement(pool, doc, msg.partner_id, known, claim, now)
        async with pool.acquire() as conn, conn.transaction():
            device: asyncpg.Record | None = None
            if device_id is not None:
                device = await db.claim_for_device(conn, claim, device_id)
                if not device["allowed"]:
                    raise _device_not_allowed()
                claimed = bool(device["fresh"])
            else:
                claimed = await db.claim_cap_message(conn, claim) is not None
            if not claimed:
                previous = await db.cap_message(conn, doc.sender, doc.identifier, doc.sent)
                ids = (str(previous["alert_id"]),) if previous is not None and previous["alert_id"] else ()
                return Accepted("duplicate", ids)
            if not doc.actionable or doc.msg_type in ("Ack", "Error"):
                return Accepted("recorded")
            if doc.msg_type == "Alert":
                assert device is not None
                assert new_alert_id is not None
                await self._raise_from_cap(conn, doc, msg.partner_id, device, new_alert_id, now)
                return Accepted("raised", (str(new_alert_id),), doc.drill)
            targets = await self._referenced_alerts(conn, doc, msg.partner_id)
            if doc.msg_type == "Update":
                for row in targets:
                    await self._update_from_cap(conn, row, doc, now)
                return Accepted("updated", tuple(str(r["alert_id"]) for r in targets), bool(targets[0]["drill"]))
            for row in targets:
                await self._cancel(conn, row, doc, now)
            return Accepted("cancelled", tuple(str(r["alert_id"]) for r in targets), bool(targets[0]["drill"]))

    async def _raise_in_one_statement(
        self,
        pool: asyncpg.Pool,
        doc: cap.CapAlert,
        partner_id: str,
        device: _DevicePlace,
        claim: dict[str, Any],
        now: datetime,
    ) -> Accepted:
        """A new alert about a known device: the claim, the alert, its history and its event in one round trip
        (the same effects, checks and order of refusals as the general path)."""
        alert = self._cap_alert(
            doc, partner_id, device.device_id, device.place, device.area_name, claim["alert_id"], now
        )
        alert["place_json"] = device.place_json
        row = outbox.encode(self.make_event(self._raised_event(alert)))[0]
        async with pool.acquire() as conn:
            allowed, fresh = await db.raise_for_device(conn, claim, alert, partner_id, self._raised_detail(alert), row)
            if not allowed:
                raise _device_not_allowed()
            if not fresh:
                previous = await db.cap_message(conn, doc.sender, doc.identifier, doc.sent)
        if not fresh:
            ids = (str(previous["alert_id"]),) if previous is not None and previous["alert_id"] else ()
            return Accepted("duplicate", ids)
        return Accepted("raised", (str(claim["alert_id"]),), doc.drill)

    def _deadline(self, severity: str, at: datetime, drill: bool) -> datetime | None:
        return lifecycle.ack_deadline(
            severity, at, self.settings.ack_deadlines_s, drill=drill, escalate_drills=self.settings.escalate_drills
        )

    @staticmethod
    def _content(doc: cap.CapAlert, info: cap.Info, now: datetime) -> dict[str, Any]:
        return {
            "category": info.categories[0],
            "event": info.event,
            "urgency": info.urgency,
            "severity": info.severity,
            "certainty": info.certainty,
            "headline": info.headline,
            "area_desc": doc.area_desc or info.event,
            "expires": info.expires,
            "received_at": now,
            "cap": doc.document,
        }

    def _cap_alert(
        self,
        doc: cap.CapAlert,
        partner_id: str,
        device_id: str,
        place: Place,
        area_name: str,
        alert_id: UUID,
        now: datetime,
    ) -> dict[str, Any]:
        info = doc.info[0]
        content = self._content(doc, info, now)
        if not doc.area_desc:
            content["area_desc"] = area_name
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
            "escalation_level": lifecycle.LADDER[0].value,
            "ack_deadline": self._deadline(info.severity, now, doc.drill),
            **content,
        }

    async def _raise_from_cap(
        self, conn: Conn, doc: cap.CapAlert, partner_id: str, device: asyncpg.Record, alert_id: UUID, now: datetime
    ) -> None:
        alert = self._cap_alert(doc, partner_id, device["device_id"], _place(device), _area_name(device), alert_id, now)
        await self._insert_and_announce(conn, alert, now)

    @staticmethod
    def _raised_detail(alert: dict[str, Any]) -> dict[str, Any]:
        return {"msg_type": alert["msg_type"], "cap_status": alert["cap_status"], "severity": alert["severity"]}

    async def _insert_and_announce(self, conn: Conn, alert: dict[str, Any], now: datetime) -> None:
        await db.insert_alert(
            conn,
            alert,
            alert["partner_id"] if alert["origin"] == "partner" else "supervision",
            self._raised_detail(alert),
        )
        await outbox.enqueue(conn, self.make_event(self._raised_event(alert)))

    @staticmethod
    def _raised_event(a: dict[str, Any] | asyncpg.Record) -> AlertRaised:
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
        )

    async def _referenced_alerts(self, conn: Conn, doc: cap.CapAlert, partner_id: str) -> list[asyncpg.Record]:
        found: dict[UUID, asyncpg.Record] = {}
        for ref in doc.references:
            message = await db.cap_message(conn, ref.sender, ref.identifier, ref.sent)
            if message is None or message["alert_id"] is None:
                continue
            if message["partner_id"] != partner_id:
                raise Rejected(
                    403,
                    "reference-not-allowed",
                    "Alert not allowed",
                    [{"field": "alert.references", "message": "names an alert another partner sent"}],
                )
            row = await db.get_alert(conn, message["alert_id"], lock=True)
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
                lifecycle.check_update(row["state"])
            except LifecycleError as exc:
                raise Rejected(
                    409, "alert-closed", "Alert closed", [{"field": "alert.references", "message": str(exc)}]
                ) from exc
        return rows

    async def _update_from_cap(self, conn: Conn, row: asyncpg.Record, doc: cap.CapAlert, now: datetime) -> None:
        info = doc.info[0]
        content = self._content(doc, info, now)
        if not doc.area_desc:
            content["area_desc"] = row["area_desc"]
        deadline = row["ack_deadline"]
        if row["state"] == AlertState.RAISED:
            # A graver update shortens the deadline; a milder one never lengthens what already runs.
            fresh = self._deadline(info.severity, now, row["drill"])
            deadline = min(d for d in (fresh, row["next_escalation_at"]) if d is not None) if fresh else None
        content["ack_deadline"] = deadline
        await db.update_alert_content(conn, row["alert_id"], content)
        await db.link_cap_message(conn, doc.sender, doc.identifier, doc.sent, row["alert_id"])
        await db.add_history(
            conn,
            row["alert_id"],
            now,
            "updated",
            actor=row["partner_id"],
            detail={"identifier": doc.identifier, "severity": info.severity, "urgency": info.urgency},
        )
        updated = await db.get_alert(conn, row["alert_id"])
        assert updated is not None
        await outbox.enqueue(conn, self.make_event(self._raised_event(updated)))

    async def _cancel(self, conn: Conn, row: asyncpg.Record, doc: cap.CapAlert, now: datetime) -> None:
        await db.set_alert_state(conn, row["alert_id"], AlertState.CANCELLED, now, cancelled_at=now)
        await db.link_cap_message(conn, doc.sender, doc.identifier, doc.sent, row["alert_id"])
        await db.add_history(
            conn, row["alert_id"], now, "cancelled", actor=row["partner_id"], detail={"identifier": doc.identifier}
        )
        event = AlertCancelled(alert_id=str(row["alert_id"]), drill=row["drill"], cancelled_at=now, place=_place(row))
        await outbox.enqueue(conn, self.make_event(event))

    # ---- heartbeats -------------------------------------------------------------------------------
    async def heartbeat(self, pool: asyncpg.Pool, msg: Inbound, *, rate_limit: bool = True) -> Accepted:
        await self.authenticate(pool, msg, rate_limit=rate_limit)
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
        now = _now()
        async with pool.acquire() as conn, conn.transaction():
            if not await db.may_speak_for(conn, msg.partner_id, hb.device_id):
                raise Rejected(
                    403,
                    "device-not-allowed",
                    "Device not allowed",
                    [{"field": "device_id", "message": "this partner may not speak for it"}],
                )
            values = hb.model_dump()
            if not await db.insert_heartbeat(conn, values, now):
                return Accepted("duplicate")
            device = await db.get_device(conn, hb.device_id, lock=True)
            assert device is not None
            await self._apply_heartbeat(conn, device, values, now)
        return Accepted("heartbeat")

    def _offline_at(self, device: asyncpg.Record, now: datetime) -> datetime:
        return lifecycle.offline_after(now, device["heartbeat_interval_s"], self.settings.missed_heartbeats_offline)

    async def _apply_heartbeat(self, conn: Conn, device: asyncpg.Record, hb: dict[str, Any], now: datetime) -> None:
        status = DeviceStatus(device["status"])
        revive = status in lifecycle.REVIVED_BY_HEARTBEAT
        supervised = revive or status in lifecycle.SUPERVISED
        # Any heartbeat proves the device alive; its readings count only if none sent later was applied before.
        # The two doors deliver out of order (a partner-topic backlog behind an HTTP heartbeat): a stale "battery
        # 90 %" arriving after a fresh "14 %" must not resolve the low-battery alert the fresh one raised.
        newest = await db.record_heartbeat_on_device(
            conn, device["device_id"], hb, now, self._offline_at(device, now) if supervised else None
        )
        if revive:
            await self._change_status(
                conn, device, DeviceStatus.ONLINE, "heartbeat", now, offline_at=self._offline_at(device, now)
            )
            if device["offline_alert_id"] is not None:
                await self._auto_resolve(conn, device["offline_alert_id"], now, "heartbeat received")
                await db.set_device_alert(conn, device["device_id"], "offline_alert_id", None)
        battery = hb.get("battery_pct")
        if battery is not None and newest:
            low = battery < self.settings.low_battery_pct
            if low and device["low_battery_alert_id"] is None:
                alert_id = await self._raise_supervision(
                    conn, device, "low_battery", "Minor", f"Low battery on device {device['device_id']}", now
                )
                await db.set_device_alert(conn, device["device_id"], "low_battery_alert_id", alert_id)
            elif not low and device["low_battery_alert_id"] is not None:
                await self._auto_resolve(conn, device["low_battery_alert_id"], now, "battery recovered")
                await db.set_device_alert(conn, device["device_id"], "low_battery_alert_id", None)

    async def _change_status(
        self,
        conn: Conn,
        device: asyncpg.Record,
        status: DeviceStatus,
        reason: str | None,
        now: datetime,
        *,
        offline_at: datetime | None,
    ) -> None:
        previous = device["status"]
        await db.set_device_status(
            conn, device["device_id"], previous, status.value, reason, now, offline_at=offline_at
        )
        event = DeviceStatusChanged(
            device_id=device["device_id"],
            place=_place(device),
            previous_status=DeviceStatus(previous),
            status=status,
            reason=reason,
            changed_at=now,
        )
        await outbox.enqueue(conn, self.make_event(event))

    async def _raise_supervision(
        self, conn: Conn, device: asyncpg.Record, kind: str, severity: str, headline: str, now: datetime
    ) -> UUID:
        alert_id = uuid.uuid4()
        alert = {
            "alert_id": alert_id,
            "origin": "supervision",
            "kind": kind,
            "partner_id": device["partner_id"],
            "device_id": device["device_id"],
            "sender": SUPERVISION_SENDER,
            "identifier": f"{kind}-{alert_id}",
            "sent": now,
            "cap_status": "Actual",
            "msg_type": "Alert",
            "drill": False,
            "category": "Infra",
            "event": kind,
            "urgency": "Expected",
            "severity": severity,
            "certainty": "Observed",
            "headline": headline,
            "area_desc": _area_name(device),
            "place": _place(device),
            "expires": None,
            "received_at": now,
            "escalation_level": lifecycle.LADDER[0].value,
            "ack_deadline": self._deadline(severity, now, False),
            "cap": None,
        }
        await self._insert_and_announce(conn, alert, now)
        return alert_id

    async def _auto_resolve(self, conn: Conn, alert_id: UUID, now: datetime, why: str) -> None:
        row = await db.get_alert(conn, alert_id, lock=True)
        if row is None or row["state"] not in AlertState.OPEN:
            return
        await self._resolve_row(conn, row, "system:supervision", why, now)

    # ---- staff actions ----------------------------------------------------------------------------
    async def acknowledge(self, conn: Conn, row: asyncpg.Record, who: str, note: str | None, now: datetime) -> None:
        lifecycle.check_ack(row["state"])
        await db.set_alert_state(
            conn, row["alert_id"], AlertState.ACKNOWLEDGED, now, acknowledged_by=who, acknowledged_at=now
        )
        await db.add_history(conn, row["alert_id"], now, "acknowledged", actor=who, note=note)
        deadline = row["ack_deadline"]
        event = AlertAcknowledged(
            alert_id=str(row["alert_id"]),
            drill=row["drill"],
            acknowledged_by=who,
            acknowledged_at=now,
            raised_at=row["received_at"],
            severity=row["severity"],
            place=_place(row),
            within_deadline=deadline is None or now <= deadline,
        )
        await outbox.enqueue(conn, self.make_event(event))

    async def resolve(self, conn: Conn, row: asyncpg.Record, who: str, note: str | None, now: datetime) -> None:
        lifecycle.check_resolve(row["state"])
        await self._resolve_row(conn, row, who, note, now)

    async def _resolve_row(self, conn: Conn, row: asyncpg.Record, who: str, note: str | None, now: datetime) -> None:
        await db.set_alert_state(conn, row["alert_id"], AlertState.RESOLVED, now, resolved_by=who, resolved_at=now)
        await db.add_history(conn, row["alert_id"], now, "resolved", actor=who, note=note)
        # Notes are free text and stay in the database (the history): events carry no free text.
        event = AlertResolved(
            alert_id=str(row["alert_id"]), drill=row["drill"], resolved_by=who, resolved_at=now, place=_place(row)
        )
        await outbox.enqueue(conn, self.make_event(event))

    # ---- devices (staff) --------------------------------------------------------------------------
    async def install(
        self,
        conn: Conn,
        device: asyncpg.Record,
        installed_at: datetime,
        lat: float | None,
        lon: float | None,
        now: datetime,
    ) -> None:
        lifecycle.check_device_transition(device["status"], DeviceStatus.INSTALLED)
        await db.mark_installed(conn, device["device_id"], installed_at, lat, lon)
        await self._change_status(
            conn, device, DeviceStatus.INSTALLED, "installed", now, offline_at=self._offline_at(device, now)
        )
        fresh = await db.get_device(conn, device["device_id"])
        assert fresh is not None
        event = DeviceInstalled(
            device_id=fresh["device_id"],
            kind=fresh["kind"],
            place=_place(fresh),
            latitude=fresh["latitude"],
            longitude=fresh["longitude"],
            partner_id=fresh["partner_id"],
            installed_at=installed_at,
            heartbeat_interval_s=fresh["heartbeat_interval_s"],
        )
        await outbox.enqueue(conn, self.make_event(event))

    async def set_status(
        self, conn: Conn, device: asyncpg.Record, status: DeviceStatus, reason: str | None, now: datetime
    ) -> None:
        lifecycle.check_device_transition(device["status"], status)
        offline_at = self._offline_at(device, now) if status in lifecycle.SUPERVISED else None
        await self._change_status(conn, device, status, reason, now, offline_at=offline_at)

    # ---- partners (staff) -------------------------------------------------------------------------
    async def create_secret(self, conn: Conn, partner_id: str, now: datetime) -> tuple[str, str]:
        """A new active secret (plain text returned once); the oldest is retired beyond two active."""
        active = await db.active_secrets(conn, partner_id)
        for old in active[: max(0, len(active) - 1)]:
            await db.retire_secret(conn, partner_id, old["secret_id"], now)
        secret_id, plain = f"sec_{uuid.uuid4().hex[:12]}", new_secret()
        await db.insert_secret(conn, secret_id, partner_id, self.box.encrypt(plain), now)
        self.forget_partner(partner_id)
        return secret_id, plain

    # ---- supervision ------------------------------------------------------------------------------
    async def supervise_once(self, pool: asyncpg.Pool, now: datetime | None = None) -> tuple[int, int]:
        """Escalate overdue alerts and take silent devices offline. Returns (escalated, went offline)."""
        now = now or _now()
        escalated = offline = 0
        async with pool.acquire() as conn, conn.transaction():
            for row in await db.due_escalations(conn, now):
                await self._escalate(conn, row, now)
                escalated += 1
        async with pool.acquire() as conn, conn.transaction():
            for device in await db.due_offline(conn, now):
                await self._go_offline(conn, device, now)
                offline += 1
        return escalated, offline

    async def _escalate(self, conn: Conn, row: asyncpg.Record, now: datetime) -> None:
        previous = EscalationLevel(row["escalation_level"]) if row["escalation_level"] else None
        level = lifecycle.next_level(previous)
        count = row["escalation_count"] + 1
        seconds = self.settings.ack_deadlines_s.get(row["severity"])
        next_at = now + timedelta(seconds=seconds) if seconds else None
        await db.set_escalated(conn, row["alert_id"], level.value, count, next_at)
        await db.add_history(conn, row["alert_id"], now, "escalated", actor="supervision", level=level.value)
        event = AlertEscalated(
            alert_id=str(row["alert_id"]),
            drill=row["drill"],
            level=level,
            escalated_at=now,
            severity=row["severity"],
            place=_place(row),
            escalation_count=count,
            previous_level=previous,
        )
        await outbox.enqueue(conn, self.make_event(event))

    async def _go_offline(self, conn: Conn, device: asyncpg.Record, now: datetime) -> None:
        missed = self.settings.missed_heartbeats_offline
        await self._change_status(
            conn, device, DeviceStatus.OFFLINE, f"{missed} heartbeat intervals missed", now, offline_at=None
        )
        if device["offline_alert_id"] is None:
            alert_id = await self._raise_supervision(
                conn,
                device,
                "device_offline",
                self.settings.offline_alert_severity,
                f"Device {device['device_id']} is offline",
                now,
            )
            await db.set_device_alert(conn, device["device_id"], "offline_alert_id", alert_id)
