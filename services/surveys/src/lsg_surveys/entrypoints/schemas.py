"""HTTP request and response bodies of the surveys API (v1).

Every request body is a ``RequestModel`` (``lsg_shared.inputs``): text PostgreSQL cannot store (NUL, unpaired
surrogates) is a 422 naming the field. Nested models of the contracts (``Place``, ``LocalizedText``, questions)
are checked again by the domain's ``bad_text`` in the use cases, as are the rows of batches and imports, which
are checked one by one so that a bad row is reported with its path and ``partial=true`` still stores the others.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from lsg_events.base import ParticipantCount
from lsg_events.geography import Place
from lsg_events.i18n import Language, LocalizedText
from lsg_events.surveys import CampaignKind
from lsg_shared.inputs import RequestModel, SafeText, text_fault
from lsg_surveys.application.responses import BatchOutcome
from lsg_surveys.domain.mappings import MappingSet
from lsg_surveys.domain.model import ID_PATTERN, Campaign, CampaignStatus, Mappings, Question
from lsg_surveys.domain.responses import SUBMISSION_ID, Respondent, ResponseInput


def _storable(value: Any) -> Any:
    """An answer (text, number, list of option codes...) whose every string PostgreSQL can store."""
    if isinstance(value, str):
        fault = text_fault(value)
        if fault:
            raise ValueError(fault)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return value


def _encodable(value: Any) -> Any:
    """`value` with every unpaired surrogate replaced by U+FFFD, so a report echoing input can be rendered."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if text_fault(value) else value
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


class RespondentIn(RequestModel, Respondent):
    pass


class ResponseIn(RequestModel, ResponseInput):
    """One resident's response as a client submits it."""

    respondent: RespondentIn | None = None
    # Each answer checked on its own, so a bad one is named (answers.q_comment), as the domain's checks name it.
    answers: dict[SafeText, Annotated[Any, AfterValidator(_storable)]] = Field(
        max_length=500, description="question id -> answer"
    )


class CampaignIn(RequestModel):
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
    mappings: Mappings = Field(
        default_factory=Mappings,
        description="Older shape, kept for campaigns set up with it: where questions sit in Kobo/ODK exports, other "
        "fields found by name (mapping version 0). New campaigns: PUT /v1/campaigns/{id}/mappings or the XLSForm",
    )
    settlements: list[Place] = Field(
        default_factory=list, max_length=5000, description="Settlements whose codes imports may use"
    )
    questionnaire: Literal["api", "xlsform"] = Field(
        "api",
        description="api: the questions come in this body; xlsform: from the form uploaded next "
        "(PUT /v1/campaigns/{id}/form), before the campaign opens",
    )

    def campaign(self) -> Campaign:
        """The new campaign (a draft); its id is generated when the caller chose none."""
        return Campaign(
            campaign_id=self.campaign_id or f"{self.kind.value}-{uuid.uuid4().hex[:12]}",
            kind=self.kind,
            wave=self.wave,
            title=self.title,
            place=self.place,
            planned_start=self.planned_start,
            planned_end=self.planned_end,
            target_size=self.target_size,
            status=CampaignStatus.DRAFT,
            questions=self.questions,
            mappings=self.mappings,
            settlements=self.settlements,
            questionnaire_from=self.questionnaire,
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
    questionnaire_from: str = Field("api", description="api, or xlsform: the questions come from the form")
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

    @field_validator("errors")
    @classmethod
    def _renderable(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return _encodable(value) if value is not None else None


class BatchResult(BaseModel):
    campaign_id: str
    received: int
    recorded: int
    corrected: int
    duplicates: int
    skipped: int
    rejected: int
    rows: list[RowOutcome]
    import_id: str | None = Field(None, description="Imports: the import's record (GET .../imports)")
    mapping_version: int | None = Field(None, description="Imports: the mapping version that read the export")

    @classmethod
    def of(cls, outcome: BatchOutcome) -> BatchResult:
        return cls(
            import_id=str(outcome.import_id) if outcome.import_id else None,
            mapping_version=outcome.mapping_version,
            campaign_id=outcome.campaign_id,
            received=outcome.received,
            recorded=outcome.recorded,
            corrected=outcome.corrected,
            duplicates=outcome.duplicates,
            skipped=outcome.skipped,
            rejected=outcome.rejected,
            rows=[RowOutcome(**r.as_dict()) for r in outcome.rows],
        )


class BatchIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    responses: list[Any] = Field(
        min_length=1, description="Responses, each shaped as the single-response body (checked row by row)"
    )

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        # Replaces RequestModel's check: rows are checked one by one (bad text included) by the use case, so a
        # bad row is reported with its path (responses[3].answers.q1) and partial=true stores the others.
        return value


class ResponseOut(BaseModel):
    """A stored response, personal fields included (editors only; erased fields are null)."""

    response_id: str
    campaign_id: str
    respondent_key: str
    place: Place
    age_band: str
    age_range: str | None = None
    gender: str
    answers: dict[str, Any]
    free_text: dict[str, str] | None
    respondent_name: str | None
    respondent_phone: str | None
    source: str
    version: int
    submission_ids: list[str]
    mapping_version: int | None = Field(None, description="Imports: the mapping version that read it")
    submitted_at: datetime
    recorded_at: datetime
    corrected_at: datetime | None
    erased_at: datetime | None


class Statement(RequestModel):
    """A problem or initiative raised at a meeting: a short text in the language it was said in."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)
    language: Language


class GatheringIn(RequestModel):
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


class ErasureIn(RequestModel):
    """Whose personal data to erase: by the identity the respondent gave, or by response ids."""

    model_config = ConfigDict(extra="forbid")

    respondent_ref: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=200)
    settlement_code: str | None = Field(None, max_length=32, description="With `name`: where the person lives")
    response_ids: list[SafeText] = Field(default_factory=list, max_length=1000)


class ErasureOut(BaseModel):
    erased_responses: int


class MappingsIn(RequestModel, MappingSet):
    """A new version of a campaign's import mappings (both sources; a source left out reads nothing)."""


class MappingsOut(BaseModel):
    campaign_id: str
    version: int = Field(description="0: the creation-time `mappings` (name matching)")
    origin: str = Field(description="campaign (version 0), api or xlsform")
    created_by: str | None
    created_at: datetime | None
    mappings: MappingSet
    versions: list[dict[str, Any]]


class FormOut(BaseModel):
    campaign_id: str
    form: dict[str, Any] = Field(description="form_id, version, title, questions, warnings (unmapped choices...)")
    questions: list[Question]
    mapping_version: int
    mappings: MappingSet


class WebhookSecretOut(BaseModel):
    campaign_id: str
    secret: str = Field(description="Shown once: give it to Kobo's REST service (header or basic-auth password)")
    url: str
    header: str


SubjectToken = Annotated[
    str, Field(pattern=r"^ps_[0-9a-f]{64}$", description="A subject token (lsg_shared.privacy): ps_ + 64 hex digits")
]
LocalId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]


class PrivacyRequestIn(RequestModel):
    """Whose data: subject tokens (``lsg_shared.privacy.subject_tokens``, as ``lsg-admin person`` makes them) and
    or this service's response ids or pseudonymous respondent keys. Never a name: tokens are keyed hashes."""

    model_config = ConfigDict(extra="forbid")

    subject_tokens: list[SubjectToken] = Field(default_factory=list, max_length=50)
    local_ids: list[LocalId] = Field(
        default_factory=list, max_length=1000, description="Response ids (UUID) or respondent keys (rk_...)"
    )

    @model_validator(mode="after")
    def _someone(self) -> PrivacyRequestIn:
        if not self.subject_tokens and not self.local_ids:
            raise ValueError("give subject_tokens or local_ids")
        return self


class PrivacyErasureIn(PrivacyRequestIn):
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class PrivacyErasureOut(BaseModel):
    request_id: str
    erased: dict[str, int] = Field(description="Counts per category (responses, personal_records, audit_rows)")
