"""The alert lifecycle as staff see it: lists, one alert with its history, acknowledge, resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from lsg_alerts.application import lifecycle, notifications
from lsg_alerts.domain import cap
from lsg_alerts.domain.lifecycle import AlertState
from lsg_alerts.entrypoints.dependencies import Uow, scope_of
from lsg_alerts.entrypoints.schemas import NoteIn, alert_json, history_json, notifications_json
from lsg_shared.deps import Editor, Offset, Viewer
from lsg_shared.inputs import SafeText
from lsg_shared.problems import invalid

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


def _split(values: list[str] | None, allowed: tuple[str, ...], field: str) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    bad = [v for v in out if v not in allowed]
    if bad:
        raise invalid(
            [{"field": f"query:{field}", "message": f"expected one of {', '.join(allowed)}"}],
            f"Unknown {field}: {', '.join(bad)}.",
        )
    return out


@router.get("", summary="Alerts, newest first (drills excluded unless asked for)")
async def list_alerts(
    _: Viewer,
    uow: Uow,
    status: Annotated[list[SafeText] | None, Query(description="raised, acknowledged, resolved, cancelled")] = None,
    severity: Annotated[list[SafeText] | None, Query(description="CAP severities")] = None,
    area: Annotated[SafeText | None, Query(description="Any place code")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    drills: Annotated[
        Literal["exclude", "include", "only"], Query(description="Live views exclude drills")
    ] = "exclude",
    device_id: SafeText | None = None,
    partner_id: SafeText | None = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    filters = {
        "states": _split(status, AlertState.ALL, "status"),
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
    rows = await lifecycle.list_alerts(uow, filters)
    return {"items": [alert_json(r) for r in rows], "limit": limit, "offset": offset}


@router.get("/{alert_id}", summary="One alert with its history and who was notified")
async def get_alert(_: Viewer, alert_id: UUID, uow: Uow) -> dict[str, Any]:
    row, history = await lifecycle.alert_with_history(uow, alert_id)
    out = alert_json(row)
    out["cap"] = row["cap"]
    out["history"] = history_json(history)
    out["notifications"] = notifications_json(await notifications.notifications_of(uow, alert_id))
    return out


@router.post("/{alert_id}/acknowledge", summary="Acknowledge (stops escalation)")
async def acknowledge_alert(principal: Editor, alert_id: UUID, uow: Uow, body: NoteIn | None = None) -> dict[str, Any]:
    note = body.note if body else None
    return alert_json(await lifecycle.acknowledge(uow, alert_id, principal.subject, note, scope_of(principal)))


@router.post("/{alert_id}/resolve", summary="Resolve")
async def resolve_alert(principal: Editor, alert_id: UUID, uow: Uow, body: NoteIn | None = None) -> dict[str, Any]:
    note = body.note if body else None
    return alert_json(await lifecycle.resolve(uow, alert_id, principal.subject, note, scope_of(principal)))
