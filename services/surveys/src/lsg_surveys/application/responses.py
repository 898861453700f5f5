"""Survey responses: one at a time or in batches (all or nothing unless partial), repeats and edits, and a
stored response read back with its personal fields."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lsg_events.envelope import CloudEvent
from lsg_events.surveys import SurveyResponseCorrected, SurveyResponseRecorded
from lsg_shared.auth import Principal
from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.campaigns import CampaignDefinitions, Clock, authorise, lock_open, utc_now, writable
from lsg_surveys.application.campaigns import get as get_campaign
from lsg_surveys.application.errors import Invalid, NotFound
from lsg_surveys.application.residency import residency_of
from lsg_surveys.domain.model import Campaign, FieldError
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.domain.responses import PreparedResponse, ResponseInput, RowResult, prepare, prepare_raw

Outcome = Literal["recorded", "corrected", "duplicate"]
RowStatus = Literal["recorded", "corrected", "duplicate", "skipped", "rejected"]


@dataclass
class StoredOutcome:
    outcome: Outcome
    response_id: uuid.UUID
    row: int | None = None


@dataclass
class RowReport:
    """What happened to one row of a batch or import."""

    row: int
    status: RowStatus
    response_id: str | None = None
    reason: str | None = None
    errors: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class BatchOutcome:
    campaign_id: str
    received: int
    recorded: int
    corrected: int
    duplicates: int
    skipped: int
    rejected: int
    rows: list[RowReport] = field(default_factory=list)
    import_id: uuid.UUID | None = None  # imports only: the import's record and the mapping version it used
    mapping_version: int | None = None


def too_many(n: int, limit: int, field_name: str) -> None:
    if n > limit:
        raise Invalid([FieldError(field_name, f"at most {limit} rows per request; got {n}", n)])


async def submit(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    pseudonymizer: Pseudonymizer,
    campaign_id: str,
    data: ResponseInput,
    actor: Principal,
) -> StoredOutcome:
    """One response: recorded, a repeat of a known submission id (nothing changes), or an edit (`replaces`)."""
    campaign = await writable(uow, definitions, campaign_id, actor)
    prepared, errors = prepare(campaign, data, pseudonymizer)
    if errors or prepared is None:
        raise Invalid(errors)
    return (await record(uow, definitions, campaign, [prepared], actor.subject))[0]


async def submit_batch(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    pseudonymizer: Pseudonymizer,
    campaign_id: str,
    rows: list[Any],
    actor: Principal,
    *,
    partial: bool,
    max_rows: int,
) -> BatchOutcome:
    """Many responses (unparsed JSON values, checked row by row so each error names its row)."""
    too_many(len(rows), max_rows, "responses")
    campaign = await writable(uow, definitions, campaign_id, actor)
    checked = []
    for i, raw in enumerate(rows):
        prepared, errors = prepare_raw(campaign, raw, pseudonymizer, prefix=f"responses[{i}]")
        checked.append(RowResult(i, prepared, errors))
    return await store_rows(uow, definitions, campaign, checked, actor, partial=partial)


async def store_rows(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    campaign: Campaign,
    checked: Sequence[RowResult],
    actor: Principal,
    *,
    partial: bool,
) -> BatchOutcome:
    """Store the good rows (all or nothing unless `partial`) and report every row."""
    reports: dict[int, RowReport] = {}
    good: list[PreparedResponse] = []
    for result in checked:
        if result.skipped is not None:
            reports[result.row] = RowReport(result.row, "skipped", reason=result.skipped)
        elif result.errors or result.prepared is None:
            reports[result.row] = RowReport(result.row, "rejected", errors=[e.as_dict() for e in result.errors])
        else:
            result.prepared.row = result.row
            good.append(result.prepared)
    rejected = [r for r in reports.values() if r.status == "rejected"]
    if rejected and not partial:
        flat = [FieldError(e["field"], e["message"], e.get("value")) for r in rejected for e in r.errors or []]
        raise Invalid(
            flat,
            f"{len(rejected)} of {len(checked)} row(s) are invalid; nothing was stored "
            "(add ?partial=true to store the valid rows).",
            rows=[r.as_dict() for r in sorted(reports.values(), key=lambda r: r.row)],
        )
    for outcome in await record(uow, definitions, campaign, good, actor.subject) if good else []:
        assert outcome.row is not None
        reports[outcome.row] = RowReport(outcome.row, outcome.outcome, response_id=str(outcome.response_id))
    ordered = sorted(reports.values(), key=lambda r: r.row)
    count = {s: sum(1 for r in ordered if r.status == s) for s in ("recorded", "corrected", "duplicate", "skipped")}
    return BatchOutcome(
        campaign_id=campaign.campaign_id,
        received=len(checked),
        recorded=count["recorded"],
        corrected=count["corrected"],
        duplicates=count["duplicate"],
        skipped=count["skipped"],
        rejected=len(rejected),
        rows=ordered,
    )


async def record(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    campaign: Campaign,
    prepared: Sequence[PreparedResponse],
    recorded_by: str,
    *,
    clock: Clock = utc_now,
) -> list[StoredOutcome]:
    """`_record`, tried again when PostgreSQL aborts the transaction for a deadlock (two edits racing)."""
    for attempt in range(3):
        try:
            return await _record(uow, definitions, campaign, prepared, recorded_by, clock)
        except repo.RETRYABLE:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _record(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    campaign: Campaign,
    prepared: Sequence[PreparedResponse],
    recorded_by: str,
    clock: Clock,
) -> list[StoredOutcome]:
    """Store responses in one transaction: new ones recorded, repeats ignored, edits applied.

    Plain submissions (no `replaces`) go in bulk: one statement claims all their ids, one inserts the
    new responses. Edits follow one by one, so an edit may refer to a submission of the same batch.
    """
    cid = campaign.campaign_id
    async with uow.begin() as tx:
        conn = tx.conn
        await lock_open(conn, definitions, cid)
        outcomes: list[StoredOutcome | None] = [None] * len(prepared)
        events: list[CloudEvent] = []
        first: dict[str, tuple[int, uuid.UUID]] = {}  # submission id -> (position, response id)
        repeats: list[tuple[int, str]] = []
        for pos, r in enumerate(prepared):
            if r.replaces:
                continue
            if r.submission_id in first:
                repeats.append((pos, r.submission_id))  # repeated inside this batch
            else:
                first[r.submission_id] = (pos, uuid.uuid4())
        # Sorted: concurrent batches sharing ids then take their index locks in one order (no deadlock).
        claims = sorted((sid, rid) for sid, (_p, rid) in first.items())
        claimed = await repo.claim_submissions(conn, cid, claims)
        holders = await repo.submission_holders(conn, cid, [sid for sid in first if sid not in claimed])
        fresh: list[tuple[uuid.UUID, PreparedResponse]] = []
        for sid, (pos, rid) in first.items():
            r = prepared[pos]
            if sid in claimed:
                fresh.append((rid, r))
                outcomes[pos] = StoredOutcome("recorded", rid, r.row)
                events.append(uow.event(_recorded(campaign, rid, r)))
            else:
                outcomes[pos] = StoredOutcome("duplicate", holders[sid], r.row)
        await repo.insert_responses(conn, cid, await residency_of(uow).place(fresh), recorded_by)
        for pos, sid in repeats:
            holder = first[sid][1] if sid in claimed else holders[sid]
            outcomes[pos] = StoredOutcome("duplicate", holder, prepared[pos].row)
        for pos, r in enumerate(prepared):
            if r.replaces:
                outcome, event = await _store_one(uow, tx, campaign, r, recorded_by, clock)
                outcomes[pos] = outcome
                if event is not None:
                    events.append(event)
        await tx.emit(*events)
        return [o for o in outcomes if o is not None]


def _recorded(campaign: Campaign, response_id: uuid.UUID, r: PreparedResponse) -> SurveyResponseRecorded:
    return SurveyResponseRecorded(
        campaign_id=campaign.campaign_id,
        response_id=str(response_id),
        respondent_key=r.respondent_key,
        wave=campaign.wave,
        place=r.place,
        age_band=r.age_band,
        age_range=r.age_range,
        gender=r.gender,
        answers=r.closed_answers(campaign),
        submitted_at=r.submitted_at,
    )


async def _store_one(
    uow: UnitOfWork, tx: Transaction, campaign: Campaign, r: PreparedResponse, recorded_by: str, clock: Clock
) -> tuple[StoredOutcome, CloudEvent | None]:
    """An edit (`replaces`): applied to the response it edits, or recorded when the original never came."""
    conn: Conn = tx.conn
    cid = campaign.campaign_id
    target = await repo.find_response_by_submissions(conn, cid, r.replaces)
    response_id = target or uuid.uuid4()
    holder = await repo.claim_submission(conn, cid, r.submission_id, response_id)
    if holder is not None:
        return StoredOutcome("duplicate", holder, r.row), None
    now = clock()
    if target is not None:
        stored = await residency_of(uow).place_edit(conn, target, r)
        row = await repo.correct_response(conn, target, stored, now)
        corrected = SurveyResponseCorrected(
            campaign_id=cid,
            response_id=str(target),
            respondent_key=row["respondent_key"],
            wave=campaign.wave,
            place=r.place,
            age_band=r.age_band,
            age_range=r.age_range,
            gender=r.gender,
            answers=r.closed_answers(campaign),
            submitted_at=r.submitted_at,
            corrected_at=now,
        )
        return StoredOutcome("corrected", target, r.row), uow.event(corrected)
    [(_, stored_r)] = await residency_of(uow).place([(response_id, r)])
    await repo.insert_response(conn, cid, response_id, stored_r, recorded_by)
    # An edit whose original never reached us: remember the original's ids so it is a repeat if it comes.
    await repo.add_submission_aliases(conn, cid, response_id, r.replaces)
    return StoredOutcome("recorded", response_id, r.row), uow.event(_recorded(campaign, response_id, r))


async def get(uow: UnitOfWork, campaign_id: str, response_id: uuid.UUID, actor: Principal) -> Any:
    """A stored response with its personal fields (callers of the campaign's area only)."""
    authorise(actor, (await get_campaign(uow, campaign_id)).campaign)
    async with uow.read() as conn:
        row = await repo.get_response(conn, campaign_id, response_id)
    if row is None:
        raise NotFound("response", response_id)
    [filled] = await residency_of(uow).fill([row])
    return filled
