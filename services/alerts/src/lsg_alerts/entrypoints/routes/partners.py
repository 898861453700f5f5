"""Partner systems, their secrets and signing certificates, their publication in the CAP feed (admin). Secrets
are returned once, when created."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from lsg_alerts.application import partners
from lsg_alerts.entrypoints.dependencies import Doors, Uow
from lsg_alerts.entrypoints.schemas import (
    CertificateIn,
    DeviceGrants,
    PartnerIn,
    PublishIn,
    certificate_json,
    partner_json,
    secret_json,
)
from lsg_shared.deps import Admin

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@router.post("", status_code=201, summary="Register a partner; its first secret is returned once")
async def create_partner(_: Admin, body: PartnerIn, uow: Uow, doors: Doors) -> dict[str, Any]:
    label = body.label.model_dump() if body.label else None
    view, secret = await partners.register(uow, doors, body.partner_id, label, body.kind)
    out = partner_json(view)
    out["new_secret"] = secret_json(secret)
    return out


@router.get("", summary="Partners (never their secrets)")
async def list_partners(_: Admin, uow: Uow) -> dict[str, Any]:
    return {"items": [partner_json(v) for v in await partners.all_partners(uow)]}


@router.get("/{partner_id}", summary="One partner (never its secrets)")
async def get_partner(_: Admin, partner_id: str, uow: Uow) -> dict[str, Any]:
    return partner_json(await partners.get(uow, partner_id))


@router.post(
    "/{partner_id}/secrets",
    status_code=201,
    summary="Rotate: add a secret (returned once); beyond two active, the oldest is retired",
)
async def rotate_secret(_: Admin, partner_id: str, uow: Uow, doors: Doors) -> dict[str, Any]:
    return secret_json(await partners.rotate_secret(uow, doors, partner_id))


@router.delete("/{partner_id}/secrets/{secret_id}", status_code=204, summary="Retire a secret")
async def retire_secret(_: Admin, partner_id: str, secret_id: str, uow: Uow, doors: Doors) -> Response:
    await partners.retire_secret(uow, doors, partner_id, secret_id)
    return Response(status_code=204)  # no body at all (a JSON null would overrun Content-Length: 0)


@router.put("/{partner_id}/devices", summary="Set the devices a partner may speak for besides those it owns")
async def set_partner_devices(_: Admin, partner_id: str, body: DeviceGrants, uow: Uow) -> dict[str, Any]:
    return partner_json(await partners.set_devices(uow, partner_id, body.device_ids))


@router.post(
    "/{partner_id}/certificates",
    status_code=201,
    summary="Register a certificate the partner signs CAP with; beyond two active, the oldest is retired",
)
async def add_certificate(_: Admin, partner_id: str, body: CertificateIn, uow: Uow, doors: Doors) -> dict[str, Any]:
    return certificate_json(await partners.add_certificate(uow, doors, partner_id, body.pem))


@router.delete("/{partner_id}/certificates/{certificate_id}", status_code=204, summary="Retire a signing certificate")
async def retire_certificate(_: Admin, partner_id: str, certificate_id: str, uow: Uow, doors: Doors) -> Response:
    await partners.retire_certificate(uow, doors, partner_id, certificate_id)
    return Response(status_code=204)


@router.put("/{partner_id}/publication", summary="Whether the partner's public alerts go into the CAP feed")
async def set_publication(_: Admin, partner_id: str, body: PublishIn, uow: Uow) -> dict[str, Any]:
    return partner_json(await partners.set_publish(uow, partner_id, body.publish))
