"""Expenditure: entries declared by the partners (any currency, converted at the rate entered with them),
first-level control by a controller (eligible and ineligible parts), corrections as new entries, and the burn.

Each entry is an `expenditure.recorded` event, each verification an `expenditure.verified` one, through the
outbox in the same transaction. An entry dated in a locked (approved) period is declared in the next open one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from lsg_events.reporting import ExpenditureRecorded, ExpenditureVerified
from lsg_reporting.adapters import finance as fin
from lsg_reporting.application.errors import Conflict, InvalidValue, NotFound
from lsg_reporting.domain import finance as rules
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.report_periods import WorkflowError, declared_in, periods
from lsg_shared.uow import UnitOfWork


@dataclass(frozen=True)
class EntryInput:
    partner: str
    category: str
    work_package: str
    activity: str | None
    spent_on: date
    amount: Decimal
    currency: str
    rate: Decimal
    vat: Decimal
    vat_recoverable: bool
    invoice_ref: str
    description: dict[str, str]
    evidence_ref: str
    entry_id: str | None = None


def _check(data: EntryInput) -> rules.Declared:
    if data.partner not in rules.PARTNERS:
        raise InvalidValue("partner", f"{data.partner!r}: expected one of {', '.join(rules.PARTNERS)}")
    if data.category not in rules.COST_CATEGORIES:
        raise InvalidValue("category", f"{data.category!r}: expected one of {', '.join(rules.COST_CATEGORIES)}")
    if data.work_package not in rules.WORK_PACKAGES:
        raise InvalidValue("work_package", f"{data.work_package!r}: expected one of {', '.join(rules.WORK_PACKAGES)}")
    try:
        return rules.declare(data.amount, data.currency, data.rate, data.vat, data.vat_recoverable)
    except rules.FinanceRuleError as exc:
        raise InvalidValue(exc.field, exc.message) from None


async def record(
    uow: UnitOfWork,
    catalogue: Catalogue,
    data: EntryInput,
    *,
    recorded_by: str,
    corrects: str | None = None,
) -> tuple[bool, asyncpg.Record]:
    """Declare an entry (or a correction of `corrects`); returns (created, stored row).

    Repeating an entry id with the same values is a no-op; other values are a conflict.
    """
    declared = _check(data)
    prog = catalogue.programme
    if not prog.start <= data.spent_on <= prog.end:
        raise InvalidValue("spent_on", f"outside the programme ({prog.start} to {prog.end})")
    entry_id = data.entry_id or uuid.uuid4().hex
    async with uow.begin() as tx:
        existing = await fin.expenditure_entry(tx.conn, entry_id)
        if existing is not None:
            if _same(existing, data, corrects):
                return False, existing
            raise Conflict(f"expenditure entry {entry_id!r} exists with other values; correct it instead")
        dated = data.spent_on
        if corrects is not None:
            target = await fin.expenditure_for_update(tx.conn, corrects)
            if target is None:
                raise NotFound("expenditure entry", corrects)
            later = await fin.correction_of(tx.conn, corrects)
            if later is not None:
                raise Conflict(f"entry {corrects!r} is corrected by {later!r} already; correct that one")
            # the correction belongs with the corrected entry's period (or the next open one if that is locked)
            dated = min(dated, target["spent_on"])
        await fin.lock_reports(tx.conn)
        try:
            period_id = declared_in(dated, periods(prog.start, prog.end), await fin.report_states(tx.conn))
        except WorkflowError as exc:
            raise Conflict(str(exc)) from None
        event_data = ExpenditureRecorded(
            entry_id=entry_id,
            partner=data.partner,
            category=data.category,
            work_package=data.work_package,
            activity=data.activity,
            spent_on=data.spent_on,
            currency=data.currency,
            amount=data.amount,
            rate=data.rate,
            amount_eur=declared.amount_eur,
            vat_eur=declared.vat_eur,
            vat_recoverable=data.vat_recoverable,
            corrects=corrects,
            period_id=period_id,
        )
        event = uow.event(event_data)
        row = await fin.insert_expenditure(
            tx.conn,
            {
                "entry_id": entry_id,
                "partner": data.partner,
                "category": data.category,
                "work_package": data.work_package,
                "activity": data.activity,
                "spent_on": data.spent_on,
                "currency": data.currency,
                "amount": data.amount,
                "rate": data.rate,
                "vat": data.vat,
                "vat_recoverable": data.vat_recoverable,
                "amount_eur": declared.amount_eur,
                "vat_eur": declared.vat_eur,
                "invoice_ref": data.invoice_ref,
                "description": data.description,
                "evidence_ref": data.evidence_ref,
                "corrects": corrects,
                "period_id": period_id,
                "recorded_by": recorded_by,
                "event_id": event.id,
            },
        )
        await tx.emit(event)
    return True, row


def _same(row: asyncpg.Record, data: EntryInput, corrects: str | None) -> bool:
    return (
        row["partner"],
        row["category"],
        row["work_package"],
        row["activity"],
        row["spent_on"],
        row["amount"],
        row["currency"],
        row["rate"],
        row["vat"],
        row["invoice_ref"],
        row["corrects"],
    ) == (
        data.partner,
        data.category,
        data.work_package,
        data.activity,
        data.spent_on,
        data.amount,
        data.currency,
        data.rate,
        data.vat,
        data.invoice_ref,
        corrects,
    )


async def verify(
    uow: UnitOfWork,
    entry_id: str,
    *,
    eligible: Decimal,
    ineligible: Decimal,
    note: str | None,
    controller: str,
) -> asyncpg.Record:
    """First-level control of an entry: its eligible and ineligible parts (four eyes: not by who declared it).

    An entry of an approved period cannot be verified again; a verified entry can be re-verified while its
    period is open or under review.
    """
    async with uow.begin() as tx:
        row = await fin.expenditure_for_update(tx.conn, entry_id)
        if row is None:
            raise NotFound("expenditure entry", entry_id)
        if row["recorded_by"] == controller:
            raise Conflict("first-level control needs another person than the one who declared the entry")
        states = await fin.report_states(tx.conn)
        if states.get(row["period_id"]) == "approved":
            raise Conflict(f"period {row['period_id']} is approved (locked): correct the entry instead")
        try:
            rules.check_verification(row["amount_eur"], eligible, ineligible)
        except rules.FinanceRuleError as exc:
            raise InvalidValue(exc.field, exc.message) from None
        updated = await fin.verify_expenditure(tx.conn, entry_id, eligible, ineligible, note, controller)
        await tx.emit(
            ExpenditureVerified(
                entry_id=entry_id,
                eligible_eur=eligible,
                ineligible_eur=ineligible,
                verified_on=datetime.now(UTC).date(),
            )
        )
    return updated


async def listing(uow: UnitOfWork, *, period_id: str | None, limit: int, offset: int) -> list[asyncpg.Record]:
    async with uow.read() as conn:
        return await fin.expenditure(conn, period_id=period_id, limit=limit, offset=offset)


async def burn(uow: UnitOfWork, catalogue: Catalogue, on: date | None = None) -> dict[str, Any]:
    """Spent against budget per partner, category and work package, by month; spent % vs time %; forecast."""
    prog = catalogue.programme
    day = on or datetime.now(UTC).date()
    async with uow.read() as conn:
        version = await fin.budget_version(conn)
        lines = await fin.budget_lines(conn, version["version"]) if version is not None else []
        entries = await fin.entries(conn, until=day)
    b = rules.burn(lines, entries)
    return {
        "on": day.isoformat(),
        "budget_version": version["version"] if version is not None else None,
        "budget": str(b.budget_total),
        "spent": str(b.spent_total),
        "spent_pct": rules.pct(b.spent_total, b.budget_total),
        "time_pct": rules.time_elapsed_pct(prog.start, prog.end, day),
        "forecast": str(rules.forecast(b.spent_total, prog.start, prog.end, day)),
        "by": {dim: {k: rules.as_text(v) for k, v in cells.items()} for dim, cells in b.by.items()},
        "months": rules.as_text(b.months),
    }
