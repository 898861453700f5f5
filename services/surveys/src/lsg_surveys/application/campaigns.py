"""Campaigns: set-up, the draft -> open -> closed life, the aggregates published at close, and the cache of
campaign definitions the write paths read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lsg_events.surveys import QuestionInfo, SurveyCompleted, SurveyOpened
from lsg_shared.auth import Principal, ensure_scope
from lsg_shared.db import Conn
from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.errors import CampaignExists, CampaignNotOpen, Invalid, NotFound, ResultsNotReady
from lsg_surveys.domain.aggregates import aggregate, margin_of_error_95
from lsg_surveys.domain.model import Campaign, CampaignStatus, FieldError, bad_text, campaign_errors, transition

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CampaignView:
    """A stored campaign as the API shows it: its definition, its dates, and (when counted) its responses."""

    campaign: Campaign
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    results: dict[str, Any] | None
    responses: int = 0


class CampaignDefinitions:
    """Campaigns as written at creation (area and creation-time mappings never change afterwards; a draft's
    questionnaire may come from its XLSForm, re-read then), cached so a response does not read its campaign
    again. Mapping versions are not cached: imports read the latest. A cached `status` may be stale: writes
    re-read it under a lock in their own transaction, and a cached status is trusted only when it says open."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._cached: dict[str, Campaign] = {}

    def get(self, campaign_id: str) -> Campaign | None:
        return self._cached.get(campaign_id)

    def put(self, campaign: Campaign) -> None:
        if len(self._cached) >= self.capacity:
            self._cached.clear()
        self._cached[campaign.campaign_id] = campaign

    def remember_status(self, campaign_id: str, status: CampaignStatus) -> None:
        cached = self._cached.get(campaign_id)
        if cached is not None:
            cached.status = status


def authorise(actor: Principal, campaign: Campaign) -> None:
    """The caller may act in the campaign's area (403 otherwise: a token limited to a country/municipality)."""
    municipality = campaign.place.municipality.code if campaign.place.municipality else None
    ensure_scope(actor, campaign.place.country, municipality)


def _text(campaign: Campaign) -> dict[str, Any]:
    """The campaign as the request gave it, for the text guard (paths as in the request body)."""
    return {
        "campaign_id": campaign.campaign_id,
        "title": campaign.title.model_dump(mode="json"),
        "place": campaign.place.model_dump(mode="json"),
        "questions": [q.model_dump(mode="json") for q in campaign.questions],
        "mappings": campaign.mappings.model_dump(mode="json"),
        "settlements": [p.model_dump(mode="json") for p in campaign.settlements],
    }


async def create(uow: UnitOfWork, campaign: Campaign, actor: Principal) -> CampaignView:
    """Store a new campaign (a draft). Invalid: names every bad field; CampaignExists: the id is taken."""
    errors = bad_text(_text(campaign)) + campaign_errors(campaign)
    if errors:
        raise Invalid(errors)
    authorise(actor, campaign)
    async with uow.begin() as tx:
        if not await repo.insert_campaign(tx.conn, campaign, actor.subject):
            raise CampaignExists(campaign.campaign_id)
    return await get(uow, campaign.campaign_id, count=True)


async def get(uow: UnitOfWork, campaign_id: str, *, count: bool = False) -> CampaignView:
    """The campaign and (only when asked: it scans the campaign's rows) its response count."""
    async with uow.read() as conn:
        row = await repo.get_campaign_row(conn, campaign_id)
        if row is None:
            raise NotFound("campaign", campaign_id)
        n = await repo.count_responses(conn, campaign_id) if count else 0
        return _view(row, n)


async def list_page(
    uow: UnitOfWork, *, kind: str | None, status: str | None, country: str | None, limit: int, offset: int
) -> list[CampaignView]:
    async with uow.read() as conn:
        rows = await repo.list_campaign_rows(
            conn, kind=kind, status=status, country=country, limit=limit, offset=offset
        )
        return [_view(r, await repo.count_responses(conn, r["campaign_id"])) for r in rows]


def _view(row: Any, responses: int) -> CampaignView:
    return CampaignView(
        campaign=repo.campaign_from_row(row),
        created_at=row["created_at"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
        results=row["results"],
        responses=responses,
    )


async def move(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    campaign_id: str,
    wanted: CampaignStatus,
    actor: Principal,
    *,
    clock: Clock = utc_now,
) -> tuple[bool, CampaignView]:
    """Open or close a campaign; whether it changed now (False: it was there already), and the campaign after.
    A backward move raises the domain's TransitionError."""
    authorise(actor, (await get(uow, campaign_id)).campaign)
    if wanted == CampaignStatus.OPEN:
        changed = await open_campaign(uow, definitions, campaign_id, clock=clock)
    else:
        changed = await close_campaign(uow, definitions, campaign_id, clock=clock)
    return changed, await get(uow, campaign_id, count=True)


async def open_campaign(
    uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, *, clock: Clock = utc_now
) -> bool:
    """draft -> open, emitting survey.opened. False when it was open already (a no-op)."""
    async with uow.begin() as tx:
        row = await repo.get_campaign_row(tx.conn, campaign_id, lock="update")
        if row is None:
            raise NotFound("campaign", campaign_id)
        campaign = repo.campaign_from_row(row)
        if not transition(campaign.status, CampaignStatus.OPEN):
            return False
        if campaign.is_survey and not campaign.questions:
            raise Invalid(
                [FieldError("questions", "the campaign has no questions yet: upload its XLSForm (PUT .../form)")]
            )
        now = clock()
        await repo.set_status(tx.conn, campaign_id, CampaignStatus.OPEN, now)
        definitions.remember_status(campaign_id, CampaignStatus.OPEN)
        await tx.emit(
            SurveyOpened(
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
        )
        return True


async def close_campaign(
    uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, *, clock: Clock = utc_now
) -> bool:
    """open -> closed; a survey publishes its aggregates (survey.completed) once. False when closed already."""
    async with uow.begin() as tx:
        # FOR UPDATE waits for responses in flight (they hold FOR SHARE) so none slips past the close.
        row = await repo.get_campaign_row(tx.conn, campaign_id, lock="update")
        if row is None:
            raise NotFound("campaign", campaign_id)
        campaign = repo.campaign_from_row(row)
        if not transition(campaign.status, CampaignStatus.CLOSED):
            return False
        now = clock()
        results: dict[str, Any] | None = None
        if campaign.is_survey:
            answers = await repo.closed_answers(tx.conn, campaign_id)
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
            await tx.emit(completed)
        await repo.set_status(tx.conn, campaign_id, CampaignStatus.CLOSED, now, results)
        definitions.remember_status(campaign_id, CampaignStatus.CLOSED)
        return True


async def results(uow: UnitOfWork, campaign_id: str) -> dict[str, Any]:
    """The aggregates published when the survey closed (the `survey.completed` data)."""
    view = await get(uow, campaign_id)
    if view.campaign.status != CampaignStatus.CLOSED or view.results is None:
        raise ResultsNotReady("Results are published when an opinion survey closes.")
    # Through the event model, so the fields come back in the contract's order (jsonb does not keep it).
    return SurveyCompleted.model_validate(view.results).model_dump(mode="json")


async def definition(
    uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, *, refresh: bool = False
) -> Campaign:
    """The campaign's definition, from the cache unless `refresh`."""
    cached = definitions.get(campaign_id)
    if cached is not None and not refresh:
        return cached
    campaign = (await get(uow, campaign_id)).campaign
    definitions.put(campaign)
    return campaign


async def writable(uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, actor: Principal) -> Campaign:
    """The campaign a write goes to: it exists, the caller may act in its area, it is open. A cached status
    is trusted only when it says open (it is checked again, under a lock, in the write's transaction)."""
    campaign = await definition(uow, definitions, campaign_id)
    if campaign.status != CampaignStatus.OPEN:
        campaign = await definition(uow, definitions, campaign_id, refresh=True)
    authorise(actor, campaign)
    if campaign.status != CampaignStatus.OPEN:
        raise CampaignNotOpen(campaign_id, campaign.status)
    return campaign


async def lock_open(conn: Conn, definitions: CampaignDefinitions, campaign_id: str) -> None:
    """In a write's transaction: the campaign exists and is open, its status locked FOR SHARE (a concurrent
    close waits until the write commits)."""
    status = await repo.lock_status(conn, campaign_id)
    if status is None:
        raise NotFound("campaign", campaign_id)
    definitions.remember_status(campaign_id, status)
    if status != CampaignStatus.OPEN:
        raise CampaignNotOpen(campaign_id, status)
