"""Request bodies of the alerts API and the JSON the routes answer with.

Every body is a ``RequestModel``: no field, nor the contract models nested in it (a label, a place), may hold text
PostgreSQL cannot store (422 naming the field)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application.contacts import unseal
from lsg_alerts.application.devices import Availability
from lsg_alerts.application.partners import NewSecret, PartnerView
from lsg_events.alerts import DeviceKind, DeviceStatus, EscalationLevel
from lsg_events.geography import Country, Place
from lsg_events.i18n import LocalizedText
from lsg_shared.inputs import RequestModel

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
PartnerKind = Literal["vendor", "municipal_dispatch", "regional_emergency_service", "other"]


# ---- partners ------------------------------------------------------------------------------------------------
class PartnerIn(RequestModel):
    partner_id: str = Field(pattern=ID_PATTERN)
    label: LocalizedText | None = None
    kind: PartnerKind = "vendor"


class CertificateIn(RequestModel):
    pem: str = Field(max_length=20_000, description="An X.509 certificate (PEM) whose key signs the partner's CAP")


class PublishIn(RequestModel):
    publish: bool = Field(description="Put the partner's Actual, Public alerts into the suite's CAP feed")


class DeviceGrants(RequestModel):
    device_ids: list[str] = Field(default_factory=list, max_length=1000)


def partner_json(view: PartnerView) -> dict[str, Any]:
    row = view.row
    return {
        "partner_id": row["partner_id"],
        "label": row["label"],
        "kind": row["kind"],
        "active": row["active"],
        "created_at": row["created_at"].isoformat(),
        # Secrets are never returned after creation: only their ids and ages.
        "secrets": [{"secret_id": s["secret_id"], "created_at": s["created_at"].isoformat()} for s in view.secrets],
        "device_ids": view.device_ids,
        "publish": row["publish"],
        "certificates": [certificate_json(c) for c in view.certificates],
    }


def certificate_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "certificate_id": row["certificate_id"],
        "fingerprint": row["fingerprint"],
        "subject": row["subject"],
        "not_after": row["not_after"].isoformat(),
        "created_at": row["created_at"].isoformat(),
    }


def secret_json(secret: NewSecret) -> dict[str, Any]:
    return {"secret_id": secret.secret_id, "secret": secret.secret, "note": "shown once; store it now"}


# ---- devices -------------------------------------------------------------------------------------------------
class DeviceIn(RequestModel):
    device_id: str = Field(pattern=ID_PATTERN)
    kind: DeviceKind
    label: LocalizedText | None = None
    place: Place = Field(description="Down to the settlement the device serves")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    partner_id: str = Field(pattern=ID_PATTERN, description="The partner that owns (and speaks for) the device")
    heartbeat_interval_s: int = Field(300, gt=0, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _settlement(self) -> DeviceIn:
        if self.place.settlement is None:
            raise ValueError("place must go down to the settlement the device serves")
        return self

    def columns(self) -> dict[str, Any]:
        """The device's columns as the adapter stores them (``place`` stays a Place)."""
        data = self.model_dump()
        data["place"] = self.place
        data["label"] = self.label.model_dump() if self.label else None
        data["kind"] = self.kind.value
        return data


class InstallIn(RequestModel):
    installed_at: datetime | None = Field(None, description="Defaults to now")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class StatusIn(RequestModel):
    status: DeviceStatus
    reason: str | None = Field(None, max_length=200)


def device_json(row: asyncpg.Record, avail: Availability | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "device_id": row["device_id"],
        "kind": row["kind"],
        "label": row["label"],
        "place": row["place"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "partner_id": row["partner_id"],
        "heartbeat_interval_s": row["heartbeat_interval_s"],
        "status": row["status"],
        "status_changed_at": row["status_changed_at"].isoformat(),
        "installed_at": row["installed_at"].isoformat() if row["installed_at"] else None,
        "last_heartbeat_at": row["last_heartbeat_at"].isoformat() if row["last_heartbeat_at"] else None,
        "battery_pct": row["battery_pct"],
        "signal_dbm": row["signal_dbm"],
        "tamper": row["tamper"],
    }
    if avail is not None:
        out["availability"] = {"ratio": avail[0], "online_s": avail[1], "supervised_s": avail[2]}
    return out


# ---- alerts --------------------------------------------------------------------------------------------------
class NoteIn(RequestModel):
    note: str | None = Field(None, max_length=2000, description="Kept in the alert's history, never in events")


def alert_json(row: asyncpg.Record) -> dict[str, Any]:
    def ts(name: str) -> str | None:
        value = row[name]
        return value.isoformat() if value is not None else None

    return {
        "alert_id": str(row["alert_id"]),
        "kind": row["kind"],
        "origin": row["origin"],
        "state": row["state"],
        "drill": row["drill"],
        "identifier": row["identifier"],
        "sender": row["sender"],
        "sent": ts("sent"),
        "cap_status": row["cap_status"],
        "msg_type": row["msg_type"],
        "category": row["category"],
        "event": row["event"],
        "urgency": row["urgency"],
        "severity": row["severity"],
        "certainty": row["certainty"],
        "headline": row["headline"],
        "area_desc": row["area_desc"],
        "place": row["place"],
        "device_id": row["device_id"],
        "partner_id": row["partner_id"],
        "received_at": ts("received_at"),
        "expires": ts("expires"),
        "escalation_level": row["escalation_level"],
        "escalation_count": row["escalation_count"],
        "ack_deadline": ts("ack_deadline"),
        "next_escalation_at": ts("next_escalation_at"),
        "acknowledged_by": row["acknowledged_by"],
        "acknowledged_at": ts("acknowledged_at"),
        "resolved_by": row["resolved_by"],
        "resolved_at": ts("resolved_at"),
        "cancelled_at": ts("cancelled_at"),
    }


def history_json(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [
        {
            "at": h["at"].isoformat(),
            "action": h["action"],
            "actor": h["actor"],
            "level": h["level"],
            "note": h["note"],
            "detail": h["detail"],
        }
        for h in rows
    ]


# ---- contacts and on-call ------------------------------------------------------------------------------------
AREA_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
EMAIL_PATTERN = r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$"


class EmailChannelIn(RequestModel):
    kind: Literal["email"]
    address: str = Field(pattern=EMAIL_PATTERN, max_length=254)


class WebhookChannelIn(RequestModel):
    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://[^\s]{1,2000}$", description="Where the signed JSON is POSTed")
    secret: str = Field(
        min_length=16, max_length=200, description="The HMAC secret the receiver verifies with (never shown again)"
    )


ChannelIn = Annotated[EmailChannelIn | WebhookChannelIn, Field(discriminator="kind")]


class ContactIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    language: Literal["lv", "ru", "en"]
    channels: list[ChannelIn] = Field(min_length=1, max_length=5, description="In the order to try them")
    phone: str | None = Field(None, pattern=r"^\+?[0-9 ()-]{3,30}$")
    drills: bool = Field(False, description="Also notified of Test and Exercise alerts")
    country: Country = "LV"
    municipality_code: str | None = Field(None, pattern=AREA_CODE_PATTERN)


class RotaIn(RequestModel):
    level: EscalationLevel
    area_code: str = Field(
        pattern=AREA_CODE_PATTERN,
        description="The settlement (elders), municipality (duty officers) or country/region code the rota covers",
    )
    country: Country = "LV"
    municipality_code: str | None = Field(None, pattern=AREA_CODE_PATTERN)
    starts_at: datetime = Field(description="The first hand-over; later ones follow every shift")
    shift_hours: int = Field(24, ge=1, le=24 * 28)
    shift_s: int | None = Field(None, ge=1, le=28 * 86_400, description="A shift in seconds (instead of hours)")
    members: list[UUID] = Field(min_length=1, max_length=50, description="Contact ids, in turn order")

    @model_validator(mode="after")
    def _aware(self) -> RotaIn:
        if self.starts_at.tzinfo is None:
            raise ValueError("starts_at needs a time zone")
        return self


class OverrideIn(RequestModel):
    contact_id: UUID
    starts_at: datetime
    ends_at: datetime

    @model_validator(mode="after")
    def _aware(self) -> OverrideIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone")
        return self


def contact_json(row: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    person = unseal(box, row["sealed"])
    return {
        "contact_id": str(row["contact_id"]),
        "name": person.name if person else None,
        "language": row["language"],
        # A webhook's secret is never shown again.
        "channels": [{k: v for k, v in c.items() if k != "secret"} for c in person.channels] if person else [],
        "phone": person.phone if person else None,
        "drills": row["drills"],
        "country": row["country"],
        "municipality_code": row["municipality_code"],
        "created_at": row["created_at"].isoformat(),
        "erased_at": row["erased_at"].isoformat() if row["erased_at"] else None,
    }


def override_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "override_id": str(row["override_id"]),
        "rota_id": str(row["rota_id"]),
        "contact_id": str(row["contact_id"]),
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
    }


def rota_json(row: asyncpg.Record, overrides: list[asyncpg.Record] | None) -> dict[str, Any]:
    out = {
        "rota_id": str(row["rota_id"]),
        "level": row["level"],
        "area_code": row["area_code"],
        "country": row["country"],
        "municipality_code": row["municipality_code"],
        "starts_at": row["starts_at"].isoformat(),
        "shift_s": row["shift_s"],
        "members": [str(m) for m in row["members"]],
    }
    if overrides is not None:
        out["overrides"] = [override_json(o) for o in overrides]
    return out


def notifications_json(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    def ts(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return [
        {
            "notification_id": str(r["notification_id"]),
            "contact_id": str(r["contact_id"]),
            "level": r["level"],
            "channel": r["channel"],
            "attempts": r["attempts"],
            "state": r["state"],
            "created_at": ts(r["created_at"]),
            "sent_at": ts(r["sent_at"]),
            "delivered_at": ts(r["delivered_at"]),
            "link_used_at": ts(r["ack_used_at"]),
        }
        for r in rows
    ]


SubjectToken = Annotated[
    str, Field(pattern=r"^ps_[0-9a-f]{64}$", description="A subject token (lsg_shared.privacy): ps_ + 64 hex digits")
]
LocalId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]


class PrivacyRequestIn(RequestModel):
    """Whose data: subject tokens (``lsg_shared.privacy.subject_tokens``, as ``lsg-admin person`` makes them:
    e-mail, phone, name with country, login) and or this service's contact ids. Never a name: tokens are keyed
    hashes."""

    model_config = ConfigDict(extra="forbid")

    subject_tokens: list[SubjectToken] = Field(default_factory=list, max_length=50)
    local_ids: list[LocalId] = Field(default_factory=list, max_length=1000, description="Contact ids (UUID)")

    @model_validator(mode="after")
    def _someone(self) -> PrivacyRequestIn:
        if not self.subject_tokens and not self.local_ids:
            raise ValueError("give subject_tokens or local_ids")
        return self


class PrivacyErasureIn(PrivacyRequestIn):
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class PrivacyErasureOut(BaseModel):
    request_id: str
    erased: int = Field(description="How many contacts were erased")
