"""Meetings: focus groups, public consultations and the forum. Stored with their texts; events carry the counts
(participants by role and gender, settlements represented, numbers of problems and initiatives), not the texts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lsg_events.base import ParticipantCount
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_events.surveys import CampaignKind, ConsultationHeld, FocusGroupHeld, ForumHeld
from lsg_shared.auth import Principal
from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.campaigns import CampaignDefinitions, authorise, get, lock_open
from lsg_surveys.application.errors import GatheringIdTaken, Invalid, WrongKind
from lsg_surveys.domain.model import CampaignStatus, FieldError, bad_text, place_within

MAX_PARTICIPANTS = 100_000

_EVENTS: dict[CampaignKind, type[FocusGroupHeld | ConsultationHeld | ForumHeld]] = {
    CampaignKind.FOCUS_GROUP: FocusGroupHeld,
    CampaignKind.PUBLIC_CONSULTATION: ConsultationHeld,
    CampaignKind.FORUM: ForumHeld,
}


@dataclass
class NewGathering:
    """A meeting as reported: `gathering_id` is the caller's (a repeat is a no-op), else generated."""

    held_on: date
    participants: list[ParticipantCount]
    gathering_id: str | None = None
    title: LocalizedText | None = None
    place: Place | None = None
    settlements: list[Place] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    initiatives: list[dict[str, str]] = field(default_factory=list)

    def text(self) -> dict[str, Any]:
        """As the request gave it, for the text guard (paths as in the request body)."""
        return {
            "gathering_id": self.gathering_id,
            "title": self.title.model_dump(mode="json") if self.title else None,
            "place": self.place.model_dump(mode="json") if self.place else None,
            "participants": [c.model_dump(mode="json") for c in self.participants],
            "settlements_represented": [p.model_dump(mode="json") for p in self.settlements],
            "problems": self.problems,
            "initiatives": self.initiatives,
        }


async def record(
    uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, meeting: NewGathering, actor: Principal
) -> tuple[str, bool]:
    """The gathering's id, and whether it was recorded now (False: this id was recorded before, a no-op)."""
    campaign = (await get(uow, campaign_id)).campaign
    authorise(actor, campaign)
    errors = bad_text(meeting.text())
    if meeting.place is not None and not place_within(meeting.place, campaign.place):
        errors.append(FieldError("place", "the meeting place is outside the campaign's area"))
    if sum(c.count for c in meeting.participants) > MAX_PARTICIPANTS:
        errors.append(FieldError("participants", f"more than {MAX_PARTICIPANTS} participants"))
    if errors:
        raise Invalid(errors)
    if campaign.status != CampaignStatus.OPEN:
        raise Invalid(
            [FieldError("campaign_id", f"the campaign is {campaign.status.value}; open it first", campaign_id)]
        )
    gathering_id = meeting.gathering_id or f"g-{uuid.uuid4().hex}"
    async with uow.begin() as tx:
        await lock_open(tx.conn, definitions, campaign_id)
        row = await repo.get_campaign_row(tx.conn, campaign_id)
        assert row is not None  # locked just above
        campaign = repo.campaign_from_row(row)
        model = _EVENTS.get(campaign.kind)
        if model is None:
            raise WrongKind(
                campaign_id, f"campaign {campaign_id} is an {campaign.kind.value}: record responses, not meetings"
            )
        where = meeting.place or campaign.place
        total = sum(c.count for c in meeting.participants)
        inserted = await repo.insert_gathering(
            tx.conn,
            gathering_id=gathering_id,
            campaign_id=campaign_id,
            held_on=meeting.held_on,
            title=(meeting.title or campaign.title).model_dump(),
            place=where.model_dump(mode="json"),
            participants=total,
            breakdown=[c.model_dump(mode="json") for c in meeting.participants],
            settlements=[p.model_dump(mode="json") for p in meeting.settlements],
            problems=meeting.problems,
            initiatives=meeting.initiatives,
            recorded_by=actor.subject,
        )
        if not inserted:
            existing = await repo.get_gathering(tx.conn, gathering_id)
            if existing is None or existing["campaign_id"] != campaign_id:
                raise GatheringIdTaken(gathering_id)
            return gathering_id, False
        await tx.emit(
            model(
                campaign_id=campaign_id,
                gathering_id=gathering_id,
                wave=campaign.wave,
                title=meeting.title or campaign.title,
                place=where,
                held_on=meeting.held_on,
                participants=total,
                breakdown=meeting.participants,
                settlements_represented=meeting.settlements,
                problems_raised=len(meeting.problems),
                initiatives_raised=len(meeting.initiatives),
            )
        )
        return gathering_id, True


async def list_for(uow: UnitOfWork, campaign_id: str) -> list[Any]:
    """The campaign's meetings with their problems and initiatives (texts), oldest first."""
    await get(uow, campaign_id)
    async with uow.read() as conn:
        return await repo.list_gatherings(conn, campaign_id)
