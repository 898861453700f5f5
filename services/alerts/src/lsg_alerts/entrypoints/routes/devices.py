"""The emergency-communication installations: registration, installation, status, availability."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from lsg_alerts.application import devices
from lsg_alerts.application.lifecycle import now
from lsg_alerts.entrypoints.dependencies import Settings, Uow, scope_of
from lsg_alerts.entrypoints.schemas import DeviceIn, InstallIn, StatusIn, device_json
from lsg_events.alerts import DeviceStatus
from lsg_shared.deps import Editor, Viewer
from lsg_shared.inputs import SafeText
from lsg_shared.problems import Problem

router = APIRouter(prefix="/v1/devices", tags=["devices"])


@router.post("", status_code=201, summary="Register a planned device")
async def register_device(principal: Editor, body: DeviceIn, uow: Uow) -> dict[str, Any]:
    scope_of(principal)(body.place)
    return device_json(await devices.register(uow, body.columns()))


@router.post("/{device_id}/install", summary="Record the installation (device.installed)")
async def install_device(
    principal: Editor, device_id: str, body: InstallIn, uow: Uow, settings: Settings
) -> dict[str, Any]:
    row = await devices.install(
        uow, settings, device_id, body.installed_at, body.latitude, body.longitude, scope_of(principal)
    )
    return device_json(row)


@router.post("/{device_id}/status", summary="Change status (maintenance, decommissioned...)")
async def change_device_status(
    principal: Editor, device_id: str, body: StatusIn, uow: Uow, settings: Settings
) -> dict[str, Any]:
    row = await devices.set_status(uow, settings, device_id, body.status, body.reason, scope_of(principal))
    return device_json(row)


@router.get("", summary="Devices with their availability over a period")
async def list_devices(
    _: Viewer,
    uow: Uow,
    status: DeviceStatus | None = None,
    area: Annotated[
        SafeText | None, Query(description="Any place code: country, municipality, territory, settlement")
    ] = None,
    partner_id: SafeText | None = None,
    since: Annotated[
        datetime | None, Query(description="Start of the availability period (default: 30 days ago)")
    ] = None,
    until: Annotated[datetime | None, Query(description="End of the availability period (default: now)")] = None,
) -> dict[str, Any]:
    end = until or now()
    start = since or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise Problem(
            422,
            "Invalid period",
            "since and until need time zones and since < until.",
            type_="validation-error",
            errors=[{"field": "query:since", "message": "must be before until, with a time zone"}],
        )
    found = await devices.with_availability(uow, status, area, partner_id, start, end)
    return {"since": start.isoformat(), "until": end.isoformat(), "items": [device_json(r, a) for r, a in found]}


@router.get("/{device_id}", summary="One device with its latest readings")
async def get_device(_: Viewer, device_id: str, uow: Uow) -> dict[str, Any]:
    return device_json(await devices.get(uow, device_id))
