"""Import mappings as data: versions a campaign's editors put while it is draft or open, the version an import
uses (the latest), and the dry run that shows what a mapping does to an export without storing anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lsg_shared.auth import Principal
from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.campaigns import CampaignDefinitions, authorise, definition
from lsg_surveys.application.errors import Invalid, NotEditable, NotFound
from lsg_surveys.domain.imports import kobo_rows, odk_rows, parse_kobo, parse_odk_csv
from lsg_surveys.domain.mappings import MappingSet, Source, dry_run_fields, legacy, mapping_errors
from lsg_surveys.domain.model import Campaign, CampaignStatus, FieldError, bad_text
from lsg_surveys.domain.privacy import Pseudonymizer


@dataclass(frozen=True)
class MappingView:
    """One version of a campaign's mappings (version 0: the creation-time `mappings`, read by name)."""

    campaign_id: str
    version: int
    mappings: MappingSet
    origin: str
    created_by: str | None
    created_at: datetime | None
    versions: list[dict[str, Any]]


async def current(uow: UnitOfWork, campaign: Campaign) -> tuple[int, MappingSet]:
    """The mapping an import uses now: the latest version, else version 0 (the creation-time mappings)."""
    async with uow.read() as conn:
        row = await repo.latest_mapping(conn, campaign.campaign_id)
    if row is None:
        return 0, legacy(campaign.mappings)
    return int(row["version"]), MappingSet.model_validate(row["mappings"])


async def get(uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, version: int | None) -> MappingView:
    campaign = await definition(uow, definitions, campaign_id, refresh=True)
    async with uow.read() as conn:
        listed = await repo.mapping_versions(conn, campaign_id)
        if version is None:
            row = await repo.latest_mapping(conn, campaign_id)
        elif version == 0:
            row = None
        else:
            row = await repo.mapping_version(conn, campaign_id, version)
            if row is None:
                raise NotFound("mapping version", f"{campaign_id}/{version}")
    versions = [{"version": 0, "origin": "campaign", "created_by": None, "created_at": None}] + [
        {"version": r["version"], "origin": r["origin"], "created_by": r["created_by"], "created_at": r["created_at"]}
        for r in listed
    ]
    if row is None:
        return MappingView(campaign_id, 0, legacy(campaign.mappings), "campaign", None, None, versions)
    return MappingView(
        campaign_id,
        int(row["version"]),
        MappingSet.model_validate(row["mappings"]),
        row["origin"],
        row["created_by"],
        row["created_at"],
        versions,
    )


async def put(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    campaign_id: str,
    mappings: MappingSet,
    actor: Principal,
    *,
    origin: str = "api",
) -> int:
    """Store a new version (checked against the questionnaire); later imports use it, earlier ones keep theirs."""
    campaign = await definition(uow, definitions, campaign_id, refresh=True)
    authorise(actor, campaign)
    errors = bad_text(mappings.model_dump(mode="json"), "mappings") + mapping_errors(campaign, mappings)
    if errors:
        raise Invalid(errors)
    async with uow.begin() as tx:
        row = await repo.get_campaign_row(tx.conn, campaign_id, lock="update")
        if row is None:
            raise NotFound("campaign", campaign_id)
        status = CampaignStatus(row["status"])
        if status == CampaignStatus.CLOSED:
            raise NotEditable(f"Campaign {campaign_id!r} is closed: its mappings can no longer change.")
        return await repo.insert_mapping_version(
            tx.conn, campaign_id, mappings.model_dump(mode="json"), origin, actor.subject
        )


async def dry_run(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    pseudonymizer: Pseudonymizer,
    campaign_id: str,
    source: Source,
    payload: Any,
    actor: Principal,
    *,
    max_rows: int,
) -> dict[str, Any]:
    """What an import of `payload` would do with the current mapping: per field its column, the values it maps
    (with counts) and those with no mapping; the export's unread columns; each row's verdict. Stores nothing."""
    from lsg_surveys.application.imports import check_rows  # the same row checks as the import itself
    from lsg_surveys.application.responses import too_many

    campaign = await definition(uow, definitions, campaign_id, refresh=True)
    authorise(actor, campaign)
    version, mappings = await current(uow, campaign)
    mapping = mappings.of(source)
    if source == "kobo":
        raw = kobo_rows(payload)
        parsed, errors = parse_kobo(campaign, payload, mapping)
    else:
        text = _text(payload)
        raw = odk_rows(text)
        parsed, errors = parse_odk_csv(campaign, text, mapping)
    if errors or raw is None:
        raise Invalid(errors or [FieldError("body", "not a readable export")])
    too_many(len(raw), max_rows, "body")
    fields, unused = dry_run_fields(campaign, mapping, raw, source)
    checked = check_rows(campaign, parsed, pseudonymizer, source)
    verdicts = []
    for result in checked:
        if result.skipped is not None:
            verdicts.append({"row": result.row, "status": "skipped", "reason": result.skipped})
        elif result.errors or result.prepared is None:
            verdicts.append({"row": result.row, "status": "rejected", "errors": [e.as_dict() for e in result.errors]})
        else:
            verdicts.append({"row": result.row, "status": "valid"})
    count = {s: sum(1 for v in verdicts if v["status"] == s) for s in ("valid", "skipped", "rejected")}
    return {
        "campaign_id": campaign_id,
        "source": source,
        "mapping_version": version,
        "match": mapping.match,
        "received": len(checked),
        **count,
        "fields": [f.as_dict() for f in fields],
        "unmapped_values": {f.name: dict(sorted(f.unmapped.items())) for f in fields if f.unmapped},
        "unused_columns": unused,
        "rows": verdicts,
        "stored": False,
    }


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid([FieldError("body", "the CSV file is not UTF-8")]) from None
    else:
        text = str(body)
    if "\x00" in text:
        raise Invalid([FieldError("body", "the CSV file contains NUL characters")])
    return text
