"""HTTP request and response bodies of the surveys API (v1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lsg_events.base import ParticipantCount
from lsg_events.geography import Place
from lsg_events.i18n import Language, LocalizedText
from lsg_events.surveys import CampaignKind
from lsg_surveys.domain.model import ID_PATTERN, CampaignStatus, Mappings, Question
from lsg_surveys.domain.responses import SUBMISSION_ID


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: str | None = Field(None, pattern=ID_PATTERN, description="Chosen by the caller, else generated")
    kind: CampaignKind
    wave: int = Field(1, ge=1, le=100)
    title: LocalizedText
    place: Place = Field(description="The campaign's area: a country, municipality, territory or settlement")
    planned_start: date
    planned_end: date
    target_size: int = Field(ge=0, le=1_000_000, description="Respondents (surveys) or participants (meetings)")
    questions: list[Question] = Field(default_factory=list, max_length=200)
    mappings: Mappings = Field(default_factory=Mappings, description="Where questions sit in Kobo/ODK exports")
    settlements: list[Place] = Field(
        default_factory=list, max_length=5000, description="Settlements whose codes imports may use"
    )


class CampaignOut(BaseModel):
    campaign_id: str
    kind: CampaignKind
    wave: int
    title: LocalizedText
    place: Place
    planned_start: date
    planned_end: date
    target_size: int
    status: CampaignStatus
    questions: list[Question]
    mappings: Mappings
    settlements: list[Place]
    responses: int = Field(description="Responses stored so far (surveys)")
    created_at: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    limit: int
    offset: int


class ResponseStored(BaseModel):
    response_id: str
    status: Literal["recorded", "corrected", "duplicate"]


class RowOutcome(BaseModel):
    row: int
    status: Literal["recorded", "corrected", "duplicate", "skipped", "rejected"]
    response_id: str | None = None
    reason: str | None = None
    errors: list[dict[str, Any]] | None = None


class BatchResult(BaseModel):
    campaign_id: str
    received: int
    recorded: int
    corrected: int
    duplicates: int
    skipped: int
    rejected: int
    rows: list[RowOutcome]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    responses: list[Any] = Field(
        min_length=1, description="Responses, each shaped as the single-response body (checked row by row)"
    )


class ResponseOut(BaseModel):
    """A stored response, personal fields included (editors only; erased fields are null)."""

    response_id: str
    campaign_id: str
    respondent_key: str
    place: Place
    age_band: str
    gender: str
    answers: dict[str, Any]
    free_text: dict[str, str] | None
    respondent_name: str | None
    respondent_phone: str | None
    source: str
    version: int
    submission_ids: list[str]
    submitted_at: datetime
    recorded_at: datetime
    corrected_at: datetime | None
    erased_at: datetime | None


class Statement(BaseModel):
    """A problem or initiative raised at a meeting: a short text in the language it was said in."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)
    language: Language


class GatheringIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gathering_id: str | None = Field(
        None, pattern=SUBMISSION_ID, description="Caller's id of the meeting: a repeat is a no-op"
    )
    held_on: date
    title: LocalizedText | None = Field(None, description="Defaults to the campaign's title")
    place: Place | None = Field(None, description="Where it was held (within the campaign's area)")
    participants: list[ParticipantCount] = Field(
        min_length=1, max_length=200, description="Counts by role and gender (and country); no names"
    )
    settlements_represented: list[Place] = Field(default_factory=list, max_length=1000)
    problems: list[Statement] = Field(default_factory=list, max_length=500)
    initiatives: list[Statement] = Field(default_factory=list, max_length=500)


class GatheringOut(BaseModel):
    gathering_id: str
    campaign_id: str
    held_on: date
    title: LocalizedText
    place: Place
    participants: int
    breakdown: list[ParticipantCount]
    settlements_represented: list[Place]
    problems: list[Statement]
    initiatives: list[Statement]
    recorded_at: datetime


class GatheringStored(BaseModel):
    gathering_id: str
    status: Literal["recorded", "duplicate"]


class ErasureIn(BaseModel):
    """Whose personal data to erase: by the identity the respondent gave, or by response ids."""

    model_config = ConfigDict(extra="forbid")

    respondent_ref: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=200)
    settlement_code: str | None = Field(None, max_length=32, description="With `name`: where the person lives")
    response_ids: list[str] = Field(default_factory=list, max_length=1000)


class ErasureOut(BaseModel):
    erased_responses: int
