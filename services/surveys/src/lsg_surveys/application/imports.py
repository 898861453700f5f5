"""Imports of KoboToolbox JSON and ODK Central CSV exports: parsed with the campaign's mappings, checked row by
row, then stored like a batch (repeats are no-ops, a new version of a known submission is an edit)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from lsg_shared.auth import Principal
from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.campaigns import CampaignDefinitions, authorise, definition, writable
from lsg_surveys.application.errors import Invalid
from lsg_surveys.application.mappings import current
from lsg_surveys.application.responses import BatchOutcome, store_rows, too_many
from lsg_surveys.domain.imports import ImportRow, parse_kobo, parse_odk_csv
from lsg_surveys.domain.model import Campaign, FieldError, bad_text
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.domain.responses import ResponseInput, RowResult, prepare, pydantic_errors


async def import_kobo(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    pseudonymizer: Pseudonymizer,
    campaign_id: str,
    payload: Any,
    actor: Principal,
    *,
    partial: bool,
    max_rows: int,
) -> BatchOutcome:
    """A KoboToolbox JSON export: a list of submissions or ``{"results": [...]}``."""
    campaign = await writable(uow, definitions, campaign_id, actor)
    version, mappings = await current(uow, campaign)
    rows, errors = parse_kobo(campaign, payload, mappings.kobo)
    if errors:
        raise Invalid(errors)
    too_many(len(rows), max_rows, "body")
    checked = check_rows(campaign, rows, pseudonymizer, "kobo", mapping_version=version)
    outcome = await store_rows(uow, definitions, campaign, checked, actor, partial=partial)
    return await log_import(uow, outcome, "kobo", version, actor)


async def import_odk(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    pseudonymizer: Pseudonymizer,
    campaign_id: str,
    body: bytes,
    actor: Principal,
    *,
    partial: bool,
    max_rows: int,
) -> BatchOutcome:
    """An ODK Central CSV export (UTF-8): `KEY` identifies a submission, `meta-instanceID` its version."""
    campaign = await writable(uow, definitions, campaign_id, actor)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid([FieldError("body", "the CSV file is not UTF-8")]) from None
    if "\x00" in text:
        raise Invalid([FieldError("body", "the CSV file contains NUL characters")])
    version, mappings = await current(uow, campaign)
    rows, errors = parse_odk_csv(campaign, text, mappings.odk)
    if errors:
        raise Invalid(errors)
    too_many(len(rows), max_rows, "body")
    checked = check_rows(campaign, rows, pseudonymizer, "odk", mapping_version=version)
    outcome = await store_rows(uow, definitions, campaign, checked, actor, partial=partial)
    return await log_import(uow, outcome, "odk", version, actor)


async def log_import(
    uow: UnitOfWork, outcome: BatchOutcome, source: str, mapping_version: int, actor: Principal
) -> BatchOutcome:
    """Record the import: which mapping version read it and what became of its rows (each stored response also
    carries the version)."""
    outcome.import_id = uuid.uuid4()
    outcome.mapping_version = mapping_version
    counts = {
        k: getattr(outcome, k) for k in ("received", "recorded", "corrected", "duplicates", "skipped", "rejected")
    }
    async with uow.begin() as tx:
        await repo.insert_import(
            tx.conn,
            import_id=outcome.import_id,
            campaign_id=outcome.campaign_id,
            source=source,
            mapping_version=mapping_version,
            counts=counts,
            imported_by=actor.subject,
        )
    return outcome


async def list_imports(
    uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, actor: Principal
) -> list[dict[str, Any]]:
    campaign = await definition(uow, definitions, campaign_id, refresh=True)
    authorise(actor, campaign)
    async with uow.read() as conn:
        return [dict(r) for r in await repo.list_imports(conn, campaign_id)]


def check_rows(
    campaign: Campaign,
    rows: list[ImportRow],
    pseudonymizer: Pseudonymizer,
    source: str,
    *,
    mapping_version: int | None = None,
) -> list[RowResult]:
    """Each export row checked as a response; errors are prefixed with the row (``rows[7].age``)."""
    checked: list[RowResult] = []
    for row in rows:
        prefix = f"rows[{row.row}]"
        if row.skipped is not None:
            checked.append(RowResult(row.row, skipped=row.skipped))
            continue
        if row.data is None or row.errors:
            checked.append(RowResult(row.row, errors=row.errors))
            continue
        found = bad_text(row.data, prefix)
        if found:
            checked.append(RowResult(row.row, errors=found))
            continue
        try:
            data = ResponseInput.model_validate(row.data)
        except ValidationError as exc:
            checked.append(RowResult(row.row, errors=pydantic_errors(exc, prefix)))
            continue
        prepared, errors = prepare(campaign, data, pseudonymizer, source=source, text_choices=True)
        if prepared is not None:
            prepared.replaces = row.replaces_candidates
            prepared.mapping_version = mapping_version
        checked.append(
            RowResult(row.row, prepared, [FieldError(f"{prefix}.{e.field}", e.message, e.value) for e in errors])
        )
    return checked
