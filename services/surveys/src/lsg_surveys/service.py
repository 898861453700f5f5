"""Application layer: each use case is one PostgreSQL transaction that writes its rows and its events
(through the outbox) together, so a response stored is an event published, whatever Kafka is doing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import asyncpg

from lsg_events.base import EventData, ParticipantCount
from lsg_events.envelope import CloudEvent
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_events.surveys import (
    CampaignKind,
    ConsultationHeld,
    FocusGroupHeld,
    ForumHeld,
    QuestionInfo,
    SurveyCompleted,
    SurveyOpened,
    SurveyResponseCorrected,
    SurveyResponseRecorded,
)
from lsg_shared.outbox import enqueue
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.domain.aggregates import aggregate, margin_of_error_95
from lsg_surveys.domain.model import Campaign, CampaignStatus, FieldError, transition
from lsg_surveys.domain.responses import PreparedResponse

EventFactory = Callable[[EventData], CloudEvent]
Outcome = Literal["recorded", "corrected", "duplicate"]


class NotFound(Exception):
    pass


class CampaignNotOpen(Exception):
    def __init__(self, campaign_id: str, status: CampaignStatus) -> None:
        super().__init__(f"campaign {campaign_id} is {status.value}: it accepts no responses")
        self.status = status


class WrongKind(Exception):
    pass


@dataclass
class StoredOutcome:
    outcome: Outcome
    response_id: uuid.UUID
    row: int | None = None


@dataclass
class SurveysApp:
    """The use cases, bound to a pool and the service's event factory."""

    pool: asyncpg.Pool
    make_event: EventFactory
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _definitions: dict[str, Campaign] = field(default_factory=dict)

    # --- campaigns ------------------------------------------------------------------------------

    async def create_campaign(self, campaign: Campaign, created_by: str) -> bool:
        async with self.pool.acquire() as conn:
            return await repo.insert_campaign(conn, campaign, created_by)

    async def get_campaign(self, campaign_id: str, *, count: bool = False) -> tuple[Campaign, asyncpg.Record, int]:
        """The campaign, its row, and (only when asked: it scans the campaign's rows) its response count."""
        async with self.pool.acquire() as conn:
            row = await repo.get_campaign_row(conn, campaign_id)
            if row is None:
                raise NotFound(campaign_id)
            n = await repo.count_responses(conn, campaign_id) if count else 0
            return repo.campaign_from_row(row), row, n

    async def list_campaigns(
        self, *, kind: str | None, status: str | None, country: str | None, limit: int, offset: int
    ) -> list[tuple[Campaign, asyncpg.Record, int]]:
        async with self.pool.acquire() as conn:
            rows = await repo.list_campaign_rows(
                conn, kind=kind, status=status, country=country, limit=limit, offset=offset
            )
            return [(repo.campaign_from_row(r), r, await repo.count_responses(conn, r["campaign_id"])) for r in rows]

    async def open_campaign(self, campaign_id: str) -> bool:
        """True when it opened now; False when it was open already (a no-op)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.get_campaign_row(conn, campaign_id, lock="update")
            if row is None:
                raise NotFound(campaign_id)
            campaign = repo.campaign_from_row(row)
            if not transition(campaign.status, CampaignStatus.OPEN):
                return False
            now = self.clock()
            await repo.set_status(conn, campaign_id, CampaignStatus.OPEN, now)
            self._remember_status(campaign_id, CampaignStatus.OPEN)
            event = SurveyOpened(
                campaign_id=campaign_id,
                kind=campaign.kind,
                wave=campaign.wave,
                title=campaign.title,
                place=campaign.place,
                target_size=campaign.target_size,
                planned_start=campaign.planned_start,
                planned_end=campaign.planned_end,
                questions=[
                    QuestionInfo(question_id=q.question_id, type=q.type, label=q.label, indicator=q.indicator)
                    for q in campaign.questions
                ],
                opened_at=now,
            )
            await enqueue(conn, self.make_event(event))
            return True

    async def close_campaign(self, campaign_id: str) -> bool:
        """Close, and for a survey publish its aggregates once. False when it was closed already."""
        async with self.pool.acquire() as conn, conn.transaction():
            # FOR UPDATE waits for responses in flight (they hold FOR SHARE) so none slips past the close.
            row = await repo.get_campaign_row(conn, campaign_id, lock="update")
            if row is None:
                raise NotFound(campaign_id)
            campaign = repo.campaign_from_row(row)
            if not transition(campaign.status, CampaignStatus.CLOSED):
                return False
            now = self.clock()
            results: dict[str, Any] | None = None
            if campaign.is_survey:
                answers = await repo.closed_answers(conn, campaign_id)
                completed = SurveyCompleted(
                    campaign_id=campaign_id,
                    kind=campaign.kind,
                    wave=campaign.wave,
                    place=campaign.place,
                    respondents=len(answers),
                    questions=aggregate(campaign.questions, answers),
                    margin_of_error_95=margin_of_error_95(len(answers)),
                    closed_at=now,
                )
                results = completed.model_dump(mode="json")
                await enqueue(conn, self.make_event(completed))
            await repo.set_status(conn, campaign_id, CampaignStatus.CLOSED, now, results)
            self._remember_status(campaign_id, CampaignStatus.CLOSED)
            return True

    # --- responses ------------------------------------------------------------------------------

    async def definition(self, campaign_id: str, *, refresh: bool = False) -> Campaign:
        """The campaign as written at creation (questionnaire, area, mappings never change afterwards), cached.

        Its `status` may be stale: writes re-read the status under a lock in their own transaction.
        """
        cached = self._definitions.get(campaign_id)
        if cached is not None and not refresh:
            return cached
        campaign, _row, _n = await self.get_campaign(campaign_id)
        if len(self._definitions) >= 1024:
            self._definitions.clear()
        self._definitions[campaign_id] = campaign
        return campaign

    def _remember_status(self, campaign_id: str, status: CampaignStatus) -> None:
        cached = self._definitions.get(campaign_id)
        if cached is not None:
            cached.status = status

    async def _lock_open(self, conn: Any, campaign_id: str) -> None:
        status = await repo.lock_status(conn, campaign_id)
        if status is None:
            raise NotFound(campaign_id)
        self._remember_status(campaign_id, status)
        if status != CampaignStatus.OPEN:
            raise CampaignNotOpen(campaign_id, status)

    async def record_responses(
        self, campaign: Campaign, prepared: Sequence[PreparedResponse], recorded_by: str
    ) -> list[StoredOutcome]:
        """`_record` with a retry when PostgreSQL aborts the transaction for a deadlock (two edits racing)."""
        for attempt in range(3):
            try:
                return await self._record(campaign, prepared, recorded_by)
            except asyncpg.DeadlockDetectedError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _record(
        self, campaign: Campaign, prepared: Sequence[PreparedResponse], recorded_by: str
    ) -> list[StoredOutcome]:
        """Store responses in one transaction: new ones recorded, repeats ignored, edits applied.

        Plain submissions (no `replaces`) go in bulk: one statement claims all their ids, one inserts the
        new responses. Edits follow one by one, so an edit may refer to a submission of the same batch.
        """
        cid = campaign.campaign_id
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock_open(conn, cid)
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
                    events.append(self.make_event(self._recorded(campaign, rid, r)))
                else:
                    outcomes[pos] = StoredOutcome("duplicate", holders[sid], r.row)
            await repo.insert_responses(conn, cid, fresh, recorded_by)
            for pos, sid in repeats:
                holder = first[sid][1] if sid in claimed else holders[sid]
                outcomes[pos] = StoredOutcome("duplicate", holder, prepared[pos].row)
            for pos, r in enumerate(prepared):
                if r.replaces:
                    outcome, event = await self._store_one(conn, campaign, r, recorded_by)
                    outcomes[pos] = outcome
                    if event is not None:
                        events.append(event)
            await enqueue(conn, *events)
            return [o for o in outcomes if o is not None]

    def _recorded(self, campaign: Campaign, response_id: uuid.UUID, r: PreparedResponse) -> SurveyResponseRecorded:
        return SurveyResponseRecorded(
            campaign_id=campaign.campaign_id,
            response_id=str(response_id),
            respondent_key=r.respondent_key,
            wave=campaign.wave,
            place=r.place,
            age_band=r.age_band,
            gender=r.gender,
            answers=r.closed_answers(campaign),
            submitted_at=r.submitted_at,
        )

    async def _store_one(
        self, conn: Any, campaign: Campaign, r: PreparedResponse, recorded_by: str
    ) -> tuple[StoredOutcome, CloudEvent | None]:
        cid = campaign.campaign_id
        target = await repo.find_response_by_submissions(conn, cid, r.replaces)
        response_id = target or uuid.uuid4()
        holder = await repo.claim_submission(conn, cid, r.submission_id, response_id)
        if holder is not None:
            return StoredOutcome("duplicate", holder, r.row), None
        now = self.clock()
        if target is not None:
            row = await repo.correct_response(conn, target, r, now)
            corrected = SurveyResponseCorrected(
                campaign_id=cid,
                response_id=str(target),
                respondent_key=row["respondent_key"],
                wave=campaign.wave,
                place=r.place,
                age_band=r.age_band,
                gender=r.gender,
                answers=r.closed_answers(campaign),
                submitted_at=r.submitted_at,
                corrected_at=now,
            )
            return StoredOutcome("corrected", target, r.row), self.make_event(corrected)
        await repo.insert_response(conn, cid, response_id, r, recorded_by)
        # An edit whose original never reached us: remember the original's ids so it is a repeat if it comes.
        await repo.add_submission_aliases(conn, cid, response_id, r.replaces)
        recorded = self._recorded(campaign, response_id, r)
        return StoredOutcome("recorded", response_id, r.row), self.make_event(recorded)

    async def get_response(self, campaign_id: str, response_id: uuid.UUID) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            return await repo.get_response(conn, campaign_id, response_id)

    async def erase(self, *, keys: list[str], response_ids: list[uuid.UUID], requested_by: str) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await repo.erase(conn, keys=keys, response_ids=response_ids, requested_by=requested_by)

    # --- gatherings -----------------------------------------------------------------------------

    async def record_gathering(
        self,
        campaign_id: str,
        *,
        gathering_id: str,
        held_on: date,
        title: LocalizedText | None,
        place: Place | None,
        breakdown: list[ParticipantCount],
        settlements: list[Place],
        problems: list[dict[str, str]],
        initiatives: list[dict[str, str]],
        recorded_by: str,
    ) -> bool:
        """False when this gathering id was recorded before (a no-op)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock_open(conn, campaign_id)
            row = await repo.get_campaign_row(conn, campaign_id)
            assert row is not None  # locked just above
            campaign = repo.campaign_from_row(row)
            model = _GATHERING_EVENTS.get(campaign.kind)
            if model is None:
                raise WrongKind(f"campaign {campaign_id} is an {campaign.kind.value}: record responses, not meetings")
            where = place or campaign.place
            total = sum(c.count for c in breakdown)
            inserted = await repo.insert_gathering(
                conn,
                gathering_id=gathering_id,
                campaign_id=campaign_id,
                held_on=held_on,
                title=(title or campaign.title).model_dump(),
                place=where.model_dump(mode="json"),
                participants=total,
                breakdown=[c.model_dump(mode="json") for c in breakdown],
                settlements=[p.model_dump(mode="json") for p in settlements],
                problems=problems,
                initiatives=initiatives,
                recorded_by=recorded_by,
            )
            if not inserted:
                existing = await repo.get_gathering(conn, gathering_id)
                if existing is None or existing["campaign_id"] != campaign_id:
                    raise GatheringIdTaken(gathering_id)
                return False
            event = model(
                campaign_id=campaign_id,
                gathering_id=gathering_id,
                wave=campaign.wave,
                title=title or campaign.title,
                place=where,
                held_on=held_on,
                participants=total,
                breakdown=breakdown,
                settlements_represented=settlements,
                problems_raised=len(problems),
                initiatives_raised=len(initiatives),
            )
            await enqueue(conn, self.make_event(event))
            return True

    async def list_gatherings(self, campaign_id: str) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await repo.list_gatherings(conn, campaign_id)


class GatheringIdTaken(Exception):
    pass


_GATHERING_EVENTS: dict[CampaignKind, type[FocusGroupHeld | ConsultationHeld | ForumHeld]] = {
    CampaignKind.FOCUS_GROUP: FocusGroupHeld,
    CampaignKind.PUBLIC_CONSULTATION: ConsultationHeld,
    CampaignKind.FORUM: ForumHeld,
}

__all__ = ["CampaignNotOpen", "FieldError", "GatheringIdTaken", "NotFound", "StoredOutcome", "SurveysApp", "WrongKind"]
