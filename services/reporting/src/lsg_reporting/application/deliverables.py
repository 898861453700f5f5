"""Printed and published deliverables no other service records: recorded (and corrected) here, each one a
`deliverable.recorded` event through the outbox in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import asyncpg

from lsg_events.geography import Place
from lsg_events.reporting import DeliverableRecorded
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.application.errors import Conflict, InvalidValue
from lsg_reporting.domain.catalogue import Catalogue
from lsg_shared.uow import UnitOfWork


def check_kind(catalogue: Catalogue, kind: str) -> None:
    kinds = sorted(catalogue.deliverable_kinds())
    if kind not in kinds:
        raise InvalidValue("kind", f"{kind!r} is not a deliverable kind; expected one of {', '.join(kinds)}")


async def record(
    uow: UnitOfWork, data: DeliverableRecorded, *, recorded_by: str, correction: bool
) -> tuple[bool, asyncpg.Record]:
    """Store the deliverable and enqueue its event; returns (created, stored row).

    Repeating a record with the same values changes nothing; other values for an existing id are a
    conflict unless this is a `correction` (the new record then supersedes the earlier one in every figure).
    """
    place = data.place.model_dump(mode="json") if data.place else None
    event = uow.event(data)
    async with uow.begin() as tx:
        existing = await pg.deliverable_for_update(tx.conn, data.deliverable_id)
        if existing is not None:
            if _stored_values(existing) == (
                data.kind,
                data.quantity,
                data.language,
                data.recorded_on,
                data.evidence_url,
                place,
            ):
                return False, existing
            if not correction:
                raise Conflict(
                    f"Deliverable {data.deliverable_id!r} exists with other values; "
                    "PUT /v1/deliverables/{id} corrects it."
                )
        row = await pg.upsert_deliverable(
            tx.conn,
            data.deliverable_id,
            data.kind,
            data.quantity,
            data.language,
            data.recorded_on,
            data.evidence_url,
            place,
            recorded_by,
            event.id,
        )
        await tx.emit(event)
    return existing is None, row


def _stored_values(row: asyncpg.Record) -> tuple[Any, ...]:
    return (
        row["kind"],
        row["quantity"],
        row["language"],
        row["recorded_on"],
        row["evidence_url"],
        row["place"],
    )


def recorded(
    catalogue: Catalogue,
    *,
    deliverable_id: str,
    kind: str,
    quantity: int,
    language: Literal["lv", "ru", "en", "multi"],
    recorded_on: date,
    evidence_url: str | None,
    place: Place | None,
) -> DeliverableRecorded:
    """The event data of a deliverable, once its kind is one the catalogue counts."""
    check_kind(catalogue, kind)
    return DeliverableRecorded(
        deliverable_id=deliverable_id,
        kind=kind,
        quantity=quantity,
        language=language,
        recorded_on=recorded_on,
        evidence_url=evidence_url,
        place=place,
    )


async def listing(uow: UnitOfWork, *, limit: int, offset: int) -> list[asyncpg.Record]:
    async with uow.read() as conn:
        return await pg.deliverables(conn, limit=limit, offset=offset)
