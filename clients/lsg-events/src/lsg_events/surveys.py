"""Social dialogue stream: opinion surveys, focus groups, public consultations, the forum.

Privacy: no name, contact or free-text answer is ever in these events. A respondent appears only as a
pseudonymous key (a keyed hash computed inside the surveys service), with a settlement and coarse
demographics (age band, gender).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from lsg_events import topics
from lsg_events.base import EventData, Gender, ParticipantCount
from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText

AgeBand = Literal["16-24", "25-34", "35-44", "45-54", "55-64", "65+", "undisclosed"]
# A campaign-declared age range ("18-29", "65+"): years, lowest and highest inclusive, or lowest and over.
AGE_RANGE_PATTERN = r"^[0-9]{1,3}(-[0-9]{1,3}|\+)$"


class CampaignKind(StrEnum):
    OPINION_SURVEY = "opinion_survey"
    FOCUS_GROUP = "focus_group"
    PUBLIC_CONSULTATION = "public_consultation"
    FORUM = "forum"


class QuestionType(StrEnum):
    LIKERT_5 = "likert_5"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMBER = "number"
    FREE_TEXT = "free_text"


class QuestionInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    type: QuestionType
    label: LocalizedText
    indicator: str | None = Field(None, description="Indicator code this closed question feeds")


class ClosedAnswer(BaseModel):
    """An answer to a closed question. Free-text answers never leave the surveys service."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    indicator: str | None = None
    value: int | None = Field(None, description="Likert 1-5 value")
    choices: list[str] | None = Field(None, description="Selected option codes (single/multiple choice)")
    number: float | None = None


class SurveyOpened(EventData):
    event_type: ClassVar[str] = "lv.lsg.survey.opened.v1"
    topic: ClassVar[str] = topics.SURVEYS
    key_field: ClassVar[str] = "campaign_id"
    description: ClassVar[str] = "A survey campaign opened for responses."

    campaign_id: str
    kind: CampaignKind
    wave: int = Field(ge=1)
    title: LocalizedText
    place: Place
    target_size: int = Field(ge=0)
    planned_start: date
    planned_end: date
    questions: list[QuestionInfo] = Field(default_factory=list)
    opened_at: datetime


class SurveyResponseRecorded(EventData):
    event_type: ClassVar[str] = "lv.lsg.survey.response.recorded.v1"
    topic: ClassVar[str] = topics.SURVEYS
    key_field: ClassVar[str] = "campaign_id"
    description: ClassVar[str] = "One resident's closed answers, pseudonymous."

    campaign_id: str
    response_id: str = Field(description="Stable id of this response (pseudonymous, not the submission id)")
    respondent_key: str = Field(description="Keyed hash identifying the respondent within the programme")
    wave: int = Field(ge=1)
    place: Place
    age_band: AgeBand = "undisclosed"
    age_range: str | None = Field(
        None,
        pattern=AGE_RANGE_PATTERN,
        description="The age range the campaign's form asked (e.g. 18-29, 65+) when it is not one of the suite's "
        "bands; age_band then holds the suite band containing it, or undisclosed when it straddles two",
    )
    gender: Gender = "undisclosed"
    answers: list[ClosedAnswer]
    submitted_at: datetime


class SurveyResponseCorrected(EventData):
    event_type: ClassVar[str] = "lv.lsg.survey.response.corrected.v1"
    topic: ClassVar[str] = topics.SURVEYS
    key_field: ClassVar[str] = "campaign_id"
    description: ClassVar[str] = "An edit of a recorded response: its answers replace the earlier ones."

    campaign_id: str
    response_id: str = Field(description="The response being corrected (same id as when recorded)")
    respondent_key: str
    wave: int = Field(ge=1)
    place: Place
    age_band: AgeBand = "undisclosed"
    age_range: str | None = Field(
        None,
        pattern=AGE_RANGE_PATTERN,
        description="The age range the campaign's form asked (e.g. 18-29, 65+) when it is not one of the suite's "
        "bands; age_band then holds the suite band containing it, or undisclosed when it straddles two",
    )
    gender: Gender = "undisclosed"
    answers: list[ClosedAnswer]
    submitted_at: datetime
    corrected_at: datetime


class QuestionAggregate(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    indicator: str | None = None
    n: int = Field(ge=0)
    mean: float | None = None
    distribution: dict[str, int] = Field(default_factory=dict, description="Answer value -> count")
    top2_box: int | None = Field(None, description="Count of answers 4 or 5 on a 1-5 scale")
    top2_box_pct: float | None = None
    ci95_low: float | None = Field(None, description="95 % confidence interval of the mean, lower bound")
    ci95_high: float | None = None


class SurveyCompleted(EventData):
    event_type: ClassVar[str] = "lv.lsg.survey.completed.v1"
    topic: ClassVar[str] = topics.SURVEYS
    key_field: ClassVar[str] = "campaign_id"
    description: ClassVar[str] = "A survey closed: respondent count and per-question aggregates."

    campaign_id: str
    kind: CampaignKind
    wave: int = Field(ge=1)
    place: Place
    respondents: int = Field(ge=0)
    questions: list[QuestionAggregate] = Field(default_factory=list)
    margin_of_error_95: float | None = Field(None, description="Worst-case (p = 0.5) margin, percentage points")
    closed_at: datetime


class _GatheringHeld(EventData):
    topic: ClassVar[str] = topics.SURVEYS
    key_field: ClassVar[str] = "campaign_id"

    campaign_id: str
    wave: int = Field(1, ge=1)
    title: LocalizedText
    place: Place
    held_on: date
    participants: int = Field(ge=0)
    breakdown: list[ParticipantCount] = Field(default_factory=list)
    settlements_represented: list[Place] = Field(default_factory=list)
    problems_raised: int = Field(0, ge=0)
    initiatives_raised: int = Field(0, ge=0)
    gathering_id: str | None = Field(
        None, description="Id of this meeting within the campaign (a campaign may hold several sessions)"
    )


class FocusGroupHeld(_GatheringHeld):
    event_type: ClassVar[str] = "lv.lsg.focus_group.held.v1"
    description: ClassVar[str] = "A focus group on the problems and initiatives of remote areas was held."


class ConsultationHeld(_GatheringHeld):
    event_type: ClassVar[str] = "lv.lsg.consultation.held.v1"
    description: ClassVar[str] = "A public consultation on communication channels was held."


class ForumHeld(_GatheringHeld):
    event_type: ClassVar[str] = "lv.lsg.forum.held.v1"
    description: ClassVar[str] = "The LSG forum was held."
