"""HTTP API under ``/v1``: partner doors (HMAC), the CAP validator (open), staff routes (bearer roles).

Routes that need no bearer token are listed in ``PUBLIC_ROUTES``; every other route declares ``require(...)``:
partner management needs ``admin``, devices and acknowledge/resolve ``editor``, reads ``viewer``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from lsg_alerts.adapters import postgres as db
from lsg_alerts.application import Accepted, Inbound, Ingestor, Rejected
from lsg_alerts.domain import cap, lifecycle
from lsg_alerts.domain.lifecycle import LifecycleError, StatusSpan
from lsg_events.alerts import DeviceKind, DeviceStatus
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_shared import audit
from lsg_shared.auth import Principal, ensure_scope, require
from lsg_shared.problems import Problem
from lsg_shared.runtime import Runtime, runtime

# Partner doors authenticate by HMAC signature; the validator is a public tool for partners.
PUBLIC_ROUTES = (
    "POST /v1/partners/{partner_id}/alerts",
    "POST /v1/partners/{partner_id}/heartbeats",
    "POST /v1/cap/validate",
)

router = APIRouter(prefix="/v1")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
CAP_MEDIA = ("application/cap+xml", "application/xml", "text/xml", "application/json", "application/cap+json")


async def ingestor(request: Request) -> Ingestor:
    # async: FastAPI runs a plain-function dependency in its thread pool (a thread hop per request).
    found: Ingestor = request.app.state.ingestor
    return found


async def _runtime(request: Request) -> Runtime:
    """``lsg_shared.runtime.runtime`` without the thread hop a plain-function dependency costs."""
    return runtime(request)


def _door(request: Request) -> tuple[Runtime, Ingestor]:
    state = request.app.state
    return state.runtime, state.ingestor


def _now() -> datetime:
    return datetime.now(UTC)


def _problem(rej: Rejected) -> Problem:
    headers = {"Retry-After": str(max(1, int(rej.retry_after + 0.999)))} if rej.retry_after else None
    if rej.status == 401:
        headers = {"WWW-Authenticate": 'LSG-HMAC realm="partners"'}
    return Problem(rej.status, rej.title, rej.detail, type_=rej.reason, errors=rej.errors, headers=headers)


_CAP_BODY = {
    "requestBody": {
        "required": True,
        "description": "A CAP 1.2 alert as XML, or as JSON with the XML element names",
        "content": {
            "application/cap+xml": {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
_HEARTBEAT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A heartbeat: the lv.lsg.device.heartbeat.v1 data (device_id, partner_id, sent_at...)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


async def _partner_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise Problem(
            413,
            "Payload too large",
            f"The body is larger than {limit} bytes.",
            type_="too-large",
            errors=[{"field": "body", "message": f"is larger than {limit} bytes"}],
        )
    return await request.body()


def _inbound(request: Request, partner_id: str, body: bytes) -> Inbound:
    return Inbound(
        door="http",
        partner_id=partner_id,
        timestamp=request.headers.get("x-lsg-timestamp"),
        signature=request.headers.get("x-lsg-signature"),
        body=body,
        content_type=request.headers.get("content-type"),
        reference_time=time.time(),
    )


def _accepted(result: Accepted) -> JSONResponse:
    return JSONResponse(result.as_dict(), status_code=result.status)


@router.post(
    "/partners/{partner_id}/alerts",
    tags=["partner doors"],
    summary="A partner sends a signed CAP 1.2 alert (Alert, Update, Cancel...)",
    openapi_extra=_CAP_BODY,
    status_code=202,
    responses={200: {"description": "A repeat of an alert already received: nothing changed"}},
)
async def partner_alert(partner_id: str, request: Request) -> JSONResponse:
    # The hot path: no FastAPI dependencies (a plain-function dependency runs in the thread pool).
    rt, ing = _door(request)
    body = await _partner_body(request, ing.settings.partner_max_bytes)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media and media not in CAP_MEDIA:
        raise Problem(
            415,
            "Unsupported media type",
            f"Send one of: {', '.join(CAP_MEDIA)}.",
            type_="unsupported-media-type",
            errors=[{"field": "header:content-type", "message": f"{media!r} is not a CAP media type"}],
        )
    try:
        result = await ing.alert(rt.pool, _inbound(request, partner_id, body))
    except Rejected as rej:
        audit.identify_partner(request, partner_id, verified=rej.status not in (401, 413))
        raise _problem(rej) from None
    audit.identify_partner(request, partner_id, verified=True)
    return _accepted(result)


@router.post(
    "/partners/{partner_id}/heartbeats",
    tags=["partner doors"],
    summary="A partner reports that a device is alive (battery, signal, tamper)",
    openapi_extra=_HEARTBEAT_BODY,
    status_code=202,
)
async def partner_heartbeat(partner_id: str, request: Request) -> JSONResponse:
    rt, ing = _door(request)
    body = await _partner_body(request, ing.settings.partner_max_bytes)
    try:
        result = await ing.heartbeat(rt.pool, _inbound(request, partner_id, body))
    except Rejected as rej:
        audit.identify_partner(request, partner_id, verified=rej.status not in (401, 413))
        raise _problem(rej) from None
    audit.identify_partner(request, partner_id, verified=True)
    return _accepted(result)


@router.post(
    "/cap/validate",
    tags=["partner doors"],
    summary="Check a document against CAP 1.2 and list every problem with its path",
    openapi_extra=_CAP_BODY,
)
async def validate_cap(request: Request, ing: Ingestor = Depends(ingestor)) -> dict[str, Any]:
    body = await _partner_body(request, ing.settings.partner_max_bytes)
    content_type = request.headers.get("content-type")
    errors = cap.validate(body, content_type)
    return {
        "valid": not errors,
        "format": cap.detect_format(body, content_type),
        "errors": [e.as_dict() for e in errors],
    }


# ---- partners (admin) ------------------------------------------------------------------------------------
PartnerKind = Literal["vendor", "municipal_dispatch", "regional_emergency_service", "other"]


class PartnerIn(BaseModel):
    partner_id: str = Field(pattern=ID_PATTERN)
    label: LocalizedText | None = None
    kind: PartnerKind = "vendor"


class DeviceGrants(BaseModel):
    device_ids: list[str] = Field(default_factory=list, max_length=1000)


async def _partner_json(conn: Any, row: asyncpg.Record) -> dict[str, Any]:
    secrets = await db.active_secrets(conn, row["partner_id"])
    return {
        "partner_id": row["partner_id"],
        "label": row["label"],
        "kind": row["kind"],
        "active": row["active"],
        "created_at": row["created_at"].isoformat(),
        # Secrets are never returned after creation: only their ids and ages.
        "secrets": [{"secret_id": s["secret_id"], "created_at": s["created_at"].isoformat()} for s in secrets],
        "device_ids": await db.partner_device_ids(conn, row["partner_id"]),
    }


@router.post(
    "/partners", tags=["partners"], status_code=201, summary="Register a partner; its first secret is returned once"
)
async def create_partner(
    body: PartnerIn,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    _: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    now = _now()
    async with rt.pool.acquire() as conn, conn.transaction():
        label = body.label.model_dump() if body.label else None
        if not await db.insert_partner(conn, body.partner_id, label, body.kind):
            raise Problem(
                409,
                "Partner exists",
                f"Partner {body.partner_id!r} is already registered.",
                type_="conflict",
                errors=[{"field": "partner_id", "message": "already exists"}],
            )
        secret_id, plain = await ing.create_secret(conn, body.partner_id, now)
        await audit.change(
            conn,
            "partner.created",
            resource={"partner_id": body.partner_id},
            detail={"kind": body.kind, "secret_id": secret_id},
        )
        row = await db.get_partner(conn, body.partner_id)
        assert row is not None
        out = await _partner_json(conn, row)
    out["new_secret"] = {"secret_id": secret_id, "secret": plain, "note": "shown once; store it now"}
    return out


async def _partner_or_404(conn: Any, partner_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await (db.lock_partner(conn, partner_id) if lock else db.get_partner(conn, partner_id))
    if row is None:
        raise Problem(404, "Not found", f"No partner {partner_id!r}.", type_="not-found")
    return row


@router.get("/partners", tags=["partners"], summary="Partners (never their secrets)")
async def list_partners(rt: Runtime = Depends(_runtime), _: Principal = Depends(require("admin"))) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return {"items": [await _partner_json(conn, r) for r in await db.list_partners(conn)]}


@router.get("/partners/{partner_id}", tags=["partners"], summary="One partner (never its secrets)")
async def get_partner(
    partner_id: str, rt: Runtime = Depends(_runtime), _: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await _partner_json(conn, await _partner_or_404(conn, partner_id))


@router.post(
    "/partners/{partner_id}/secrets",
    tags=["partners"],
    status_code=201,
    summary="Rotate: add a secret (returned once); beyond two active, the oldest is retired",
)
async def rotate_secret(
    partner_id: str,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    _: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        await _partner_or_404(conn, partner_id, lock=True)
        before = {s["secret_id"] for s in await db.active_secrets(conn, partner_id)}
        secret_id, plain = await ing.create_secret(conn, partner_id, _now())
        active = [s["secret_id"] for s in await db.active_secrets(conn, partner_id)]
        detail = {"secret_id": secret_id, "active_secret_ids": active, "retired_secret_ids": sorted(before - {*active})}
        await audit.change(conn, "partner.secret_rotated", resource={"partner_id": partner_id}, detail=detail)
    return {"secret_id": secret_id, "secret": plain, "note": "shown once; store it now"}


@router.delete(
    "/partners/{partner_id}/secrets/{secret_id}", tags=["partners"], status_code=204, summary="Retire a secret"
)
async def retire_secret(
    partner_id: str,
    secret_id: str,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    _: Principal = Depends(require("admin")),
) -> JSONResponse:
    async with rt.pool.acquire() as conn, conn.transaction():
        await _partner_or_404(conn, partner_id, lock=True)
        if not await db.retire_secret(conn, partner_id, secret_id, _now()):
            raise Problem(404, "Not found", f"No active secret {secret_id!r}.", type_="not-found")
        await audit.change(conn, "partner.secret_retired", resource={"partner_id": partner_id, "secret_id": secret_id})
    ing.forget_partner(partner_id)
    return JSONResponse(None, status_code=204)


@router.put(
    "/partners/{partner_id}/devices",
    tags=["partners"],
    summary="Set the devices a partner may speak for besides those it owns",
)
async def set_partner_devices(
    partner_id: str,
    body: DeviceGrants,
    rt: Runtime = Depends(_runtime),
    _: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _partner_or_404(conn, partner_id, lock=True)
        known = await db.existing_device_ids(conn, body.device_ids)
        unknown = [d for d in body.device_ids if d not in known]
        if unknown:
            raise Problem(
                422,
                "Unknown device",
                "Some devices are not registered.",
                type_="validation-error",
                errors=[
                    {"field": f"device_ids[{body.device_ids.index(d)}]", "message": "unknown device"} for d in unknown
                ],
            )
        await db.revoke_other_devices(conn, partner_id, body.device_ids)
        await db.grant_devices(conn, partner_id, body.device_ids)
        await audit.change(
            conn, "partner.devices_set", resource={"partner_id": partner_id}, detail={"device_ids": body.device_ids}
        )
        return await _partner_json(conn, row)


# ---- devices ---------------------------------------------------------------------------------------------
class DeviceIn(BaseModel):
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


class InstallIn(BaseModel):
    installed_at: datetime | None = Field(None, description="Defaults to now")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class StatusIn(BaseModel):
    status: DeviceStatus
    reason: str | None = Field(None, max_length=200)


def _device_json(row: asyncpg.Record, avail: tuple[float | None, float, float] | None = None) -> dict[str, Any]:
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


def _device_scope(principal: Principal, place: dict[str, Any] | Place) -> None:
    p = place if isinstance(place, Place) else Place.model_validate(place)
    ensure_scope(principal, p.country, p.municipality.code if p.municipality else None)


@router.post("/devices", tags=["devices"], status_code=201, summary="Register a planned device")
async def register_device(
    body: DeviceIn, rt: Runtime = Depends(_runtime), principal: Principal = Depends(require("editor"))
) -> dict[str, Any]:
    _device_scope(principal, body.place)
    async with rt.pool.acquire() as conn, conn.transaction():
        if await db.get_partner(conn, body.partner_id) is None:
            raise Problem(
                422,
                "Unknown partner",
                f"No partner {body.partner_id!r}.",
                type_="validation-error",
                errors=[{"field": "partner_id", "message": "unknown partner"}],
            )
        data = body.model_dump()
        data["place"] = body.place
        data["label"] = body.label.model_dump() if body.label else None
        data["kind"] = body.kind.value
        if not await db.insert_device(conn, data, _now()):
            raise Problem(
                409,
                "Device exists",
                f"Device {body.device_id!r} is already registered.",
                type_="conflict",
                errors=[{"field": "device_id", "message": "already exists"}],
            )
        row = await db.get_device(conn, body.device_id)
        assert row is not None
        return _device_json(row)


async def _device_or_404(conn: Any, device_id: str) -> asyncpg.Record:
    row = await db.get_device(conn, device_id, lock=True)
    if row is None:
        raise Problem(404, "Not found", f"No device {device_id!r}.", type_="not-found")
    return row


def _conflict(exc: LifecycleError, field: str) -> Problem:
    return Problem(409, "Conflict", str(exc), type_="conflict", errors=[{"field": field, "message": str(exc)}])


@router.post("/devices/{device_id}/install", tags=["devices"], summary="Record the installation (device.installed)")
async def install_device(
    device_id: str,
    body: InstallIn,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    principal: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    now = _now()
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _device_or_404(conn, device_id)
        _device_scope(principal, row["place"])
        try:
            await ing.install(conn, row, body.installed_at or now, body.latitude, body.longitude, now)
        except LifecycleError as exc:
            raise _conflict(exc, "status") from None
        fresh = await db.get_device(conn, device_id)
        assert fresh is not None
        return _device_json(fresh)


@router.post("/devices/{device_id}/status", tags=["devices"], summary="Change status (maintenance, decommissioned...)")
async def change_device_status(
    device_id: str,
    body: StatusIn,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    principal: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    if body.status == DeviceStatus.INSTALLED:
        raise Problem(
            422,
            "Use install",
            "Installation goes through POST /v1/devices/{id}/install.",
            type_="validation-error",
            errors=[{"field": "status", "message": "use the install route"}],
        )
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _device_or_404(conn, device_id)
        _device_scope(principal, row["place"])
        try:
            await ing.set_status(conn, row, body.status, body.reason, _now())
        except LifecycleError as exc:
            raise _conflict(exc, "status") from None
        fresh = await db.get_device(conn, device_id)
        assert fresh is not None
        return _device_json(fresh)


@router.get("/devices", tags=["devices"], summary="Devices with their availability over a period")
async def list_devices(
    rt: Runtime = Depends(_runtime),
    _: Principal = Depends(require("viewer")),
    status: DeviceStatus | None = None,
    area: Annotated[
        str | None, Query(description="Any place code: country, municipality, territory, settlement")
    ] = None,
    partner_id: str | None = None,
    since: Annotated[
        datetime | None, Query(description="Start of the availability period (default: 30 days ago)")
    ] = None,
    until: Annotated[datetime | None, Query(description="End of the availability period (default: now)")] = None,
) -> dict[str, Any]:
    end = until or _now()
    start = since or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise Problem(
            422,
            "Invalid period",
            "since and until need time zones and since < until.",
            type_="validation-error",
            errors=[{"field": "query:since", "message": "must be before until, with a time zone"}],
        )
    async with rt.pool.acquire() as conn:
        rows = await db.list_devices(conn, status.value if status else None, area, partner_id)
        changes = await db.status_history(conn, [r["device_id"] for r in rows])
    spans: dict[str, list[StatusSpan]] = {}
    for c in changes:
        spans.setdefault(c["device_id"], []).append(StatusSpan(c["status"], c["changed_at"]))
    items = [_device_json(r, lifecycle.availability(spans.get(r["device_id"], []), start, end)) for r in rows]
    return {"since": start.isoformat(), "until": end.isoformat(), "items": items}


@router.get("/devices/{device_id}", tags=["devices"], summary="One device with its latest readings")
async def get_device(
    device_id: str, rt: Runtime = Depends(_runtime), _: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await db.get_device(conn, device_id)
    if row is None:
        raise Problem(404, "Not found", f"No device {device_id!r}.", type_="not-found")
    return _device_json(row)


# ---- alerts ----------------------------------------------------------------------------------------------
def _alert_json(row: asyncpg.Record) -> dict[str, Any]:
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


def _split(values: list[str] | None, allowed: tuple[str, ...], field: str) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    bad = [v for v in out if v not in allowed]
    if bad:
        raise Problem(
            422,
            "Invalid filter",
            f"Unknown {field}: {', '.join(bad)}.",
            type_="validation-error",
            errors=[{"field": f"query:{field}", "message": f"expected one of {', '.join(allowed)}"}],
        )
    return out


@router.get("/alerts", tags=["alerts"], summary="Alerts, newest first (drills excluded unless asked for)")
async def list_alerts(
    rt: Runtime = Depends(_runtime),
    _: Principal = Depends(require("viewer")),
    status: Annotated[list[str] | None, Query(description="raised, acknowledged, resolved, cancelled")] = None,
    severity: Annotated[list[str] | None, Query(description="CAP severities")] = None,
    area: Annotated[str | None, Query(description="Any place code")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    drills: Annotated[
        Literal["exclude", "include", "only"], Query(description="Live views exclude drills")
    ] = "exclude",
    device_id: str | None = None,
    partner_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    filters = {
        "states": _split(status, lifecycle.AlertState.ALL, "status"),
        "severities": _split(severity, cap.SEVERITIES, "severity"),
        "area": area,
        "since": since,
        "until": until,
        "drill": {"exclude": False, "include": None, "only": True}[drills],
        "device_id": device_id,
        "partner_id": partner_id,
        "limit": limit,
        "offset": offset,
    }
    async with rt.pool.acquire() as conn:
        rows = await db.list_alerts(conn, filters)
    return {"items": [_alert_json(r) for r in rows], "limit": limit, "offset": offset}


async def _alert_or_404(conn: Any, alert_id: UUID, *, lock: bool = False) -> asyncpg.Record:
    row = await db.get_alert(conn, alert_id, lock=lock)
    if row is None:
        raise Problem(404, "Not found", f"No alert {alert_id}.", type_="not-found")
    return row


@router.get("/alerts/{alert_id}", tags=["alerts"], summary="One alert with its history")
async def get_alert(
    alert_id: UUID, rt: Runtime = Depends(_runtime), _: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await _alert_or_404(conn, alert_id)
        hist = await db.history(conn, alert_id)
    out = _alert_json(row)
    out["cap"] = row["cap"]
    out["history"] = [
        {
            "at": h["at"].isoformat(),
            "action": h["action"],
            "actor": h["actor"],
            "level": h["level"],
            "note": h["note"],
            "detail": h["detail"],
        }
        for h in hist
    ]
    return out


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=2000, description="Kept in the alert's history, never in events")


async def _staff_action(
    action: str, alert_id: UUID, body: NoteIn | None, rt: Runtime, ing: Ingestor, principal: Principal
) -> dict[str, Any]:
    note = body.note if body else None
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _alert_or_404(conn, alert_id, lock=True)
        _device_scope(principal, row["place"])
        try:
            if action == "acknowledge":
                await ing.acknowledge(conn, row, principal.subject, note, _now())
            else:
                await ing.resolve(conn, row, principal.subject, note, _now())
        except LifecycleError as exc:
            raise _conflict(exc, "state") from None
        fresh = await _alert_or_404(conn, alert_id)
    return _alert_json(fresh)


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"], summary="Acknowledge (stops escalation)")
async def acknowledge_alert(
    alert_id: UUID,
    body: NoteIn | None = None,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    principal: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    return await _staff_action("acknowledge", alert_id, body, rt, ing, principal)


@router.post("/alerts/{alert_id}/resolve", tags=["alerts"], summary="Resolve")
async def resolve_alert(
    alert_id: UUID,
    body: NoteIn | None = None,
    rt: Runtime = Depends(_runtime),
    ing: Ingestor = Depends(ingestor),
    principal: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    return await _staff_action("resolve", alert_id, body, rt, ing, principal)
