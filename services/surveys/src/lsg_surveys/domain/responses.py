"""One response on its way in: the input shape (API, Kobo, ODK alike) and its checks against a campaign."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from lsg_events.base import Gender
from lsg_events.geography import Place
from lsg_events.surveys import AGE_RANGE_PATTERN, AgeBand, ClosedAnswer, QuestionType
from lsg_surveys.domain.mappings import parse_range, resolve_age
from lsg_surveys.domain.model import Campaign, FieldError, bad_text, place_within, validate_answers
from lsg_surveys.domain.privacy import Pseudonymizer, age_band

SUBMISSION_ID = r"^[\x21-\x7e]{1,200}$"  # printable ASCII: Kobo/ODK uuids, client ids


class Respondent(BaseModel):
    """Personal data: stored in this service only, never in an event, erasable on request."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    ref: str | None = Field(None, max_length=200, description="An external respondent id (panel id, register id)")


class ResponseInput(BaseModel):
    """One resident's response as a client submits it."""

    model_config = ConfigDict(extra="forbid")

    submission_id: str | None = Field(
        None,
        pattern=SUBMISSION_ID,
        description="The client's id of this submission (Kobo meta/instanceID, ODK KEY): a resubmission is a no-op",
    )
    replaces: str | None = Field(
        None, pattern=SUBMISSION_ID, description="Submission id this one edits (Kobo meta/deprecatedID)"
    )
    submitted_at: AwareDatetime | None = None
    respondent: Respondent | None = None
    settlement: Place | None = Field(None, description="Where the respondent lives (within the campaign's area)")
    settlement_code: str | None = Field(
        None, max_length=32, description="Alternative to `settlement`: a code from the campaign's settlement list"
    )
    age: int | None = Field(None, ge=0, le=130)
    age_band: AgeBand | None = Field(None, description="Given instead of `age` when only the band is known")
    age_range: str | None = Field(
        None,
        pattern=AGE_RANGE_PATTERN,
        description="The range the form asked (18-29, 65+) when it is not a suite band: published as asked",
    )
    gender: Gender = "undisclosed"
    answers: dict[str, Any] = Field(max_length=500, description="question id -> answer")


@dataclass
class PreparedResponse:
    """A checked response: what is stored, and the part of it that may be published."""

    submission_id: str
    replaces: list[str]
    respondent_key: str
    place: Place
    age_band: AgeBand
    gender: Gender
    closed: dict[str, Any]
    free_text: dict[str, str]
    name: str | None
    phone: str | None
    submitted_at: datetime
    source: str
    generated_id: bool = False
    row: int | None = None
    age_range: str | None = None
    mapping_version: int | None = None
    ref: str | None = None  # personal: the external respondent id (matched by an erasure request's ref token)
    residence: str | None = None  # set when the personal fields went to a country's personal database

    def closed_answers(self, campaign: Campaign) -> list[ClosedAnswer]:
        """The publishable answers in questionnaire order (free text excluded by construction)."""
        out: list[ClosedAnswer] = []
        for q in campaign.questions:
            if q.question_id not in self.closed:
                continue
            value = self.closed[q.question_id]
            if q.type == QuestionType.LIKERT_5:
                out.append(ClosedAnswer(question_id=q.question_id, indicator=q.indicator, value=value))
            elif q.type == QuestionType.SINGLE_CHOICE:
                out.append(ClosedAnswer(question_id=q.question_id, indicator=q.indicator, choices=[value]))
            elif q.type == QuestionType.MULTIPLE_CHOICE:
                out.append(ClosedAnswer(question_id=q.question_id, indicator=q.indicator, choices=list(value)))
            elif q.type == QuestionType.NUMBER:
                out.append(ClosedAnswer(question_id=q.question_id, indicator=q.indicator, number=value))
        return out


@dataclass
class RowResult:
    row: int
    prepared: PreparedResponse | None = None
    errors: list[FieldError] = field(default_factory=list)
    skipped: str | None = None


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "body")
        out.append(FieldError(where, err.get("msg", "invalid"), err.get("input")))
    return out


def _resolve_place(campaign: Campaign, data: ResponseInput) -> tuple[Place, list[FieldError]]:
    if data.settlement is not None and data.settlement_code is not None:
        return campaign.place, [FieldError("settlement_code", "give settlement or settlement_code, not both")]
    if data.settlement is not None:
        if not place_within(data.settlement, campaign.place):
            return campaign.place, [FieldError("settlement", "the settlement is outside the campaign's area")]
        return data.settlement, []
    if data.settlement_code is not None:
        for place in campaign.settlements:
            unit = place.settlement or place.territory or place.municipality
            if unit is not None and unit.code == data.settlement_code:
                return place, []
        return campaign.place, [
            FieldError("settlement_code", "unknown settlement code for this campaign", data.settlement_code)
        ]
    return campaign.place, []


def prepare(
    campaign: Campaign,
    data: ResponseInput,
    pseudonymizer: Pseudonymizer,
    *,
    source: str = "api",
    text_choices: bool = False,
    now: datetime | None = None,
) -> tuple[PreparedResponse | None, list[FieldError]]:
    """Check a response against the campaign; on success the stored and publishable forms of it."""
    errors = bad_text(data.model_dump(mode="python", exclude={"settlement"}))
    if data.settlement is not None:
        errors += bad_text(data.settlement.model_dump(), "settlement")
    clean, answer_errors = validate_answers(campaign, data.answers, text_choices=text_choices)
    errors += answer_errors
    place, place_errors = _resolve_place(campaign, data)
    errors += place_errors
    if data.age is not None and data.age_band is not None and age_band(data.age) != data.age_band:
        errors.append(FieldError("age_band", f"age {data.age} is not in band {data.age_band}", data.age_band))
    band, age_range = data.age_band or age_band(data.age), None
    if data.age_range is not None:
        resolved = resolve_age(data.age_range)
        if resolved is None:
            errors.append(FieldError("age_range", "expected a range like 18-29 or 65+", data.age_range))
        elif data.age_band is not None and data.age_band != resolved[0]:
            errors.append(FieldError("age_band", f"age range {data.age_range} is not in band {data.age_band}"))
        else:
            band, age_range = resolved
            span = parse_range(data.age_range)
            if data.age is not None and span is not None and not span[0] <= data.age <= span[1]:
                errors.append(FieldError("age_range", f"age {data.age} is not in range {data.age_range}"))
    if errors:
        return None, errors
    generated = data.submission_id is None
    submission_id = data.submission_id or f"lsg:{uuid.uuid4()}"
    respondent = data.respondent or Respondent()
    unit = place.settlement or place.territory or place.municipality
    key = pseudonymizer.respondent_key(
        ref=respondent.ref,
        phone=respondent.phone,
        name=respondent.name,
        settlement_code=unit.code if unit else None,
        fallback=data.replaces or submission_id,
    )
    return (
        PreparedResponse(
            submission_id=submission_id,
            replaces=[data.replaces] if data.replaces else [],
            respondent_key=key,
            place=place,
            age_band=band,
            age_range=age_range,
            gender=data.gender,
            closed=clean.closed,
            free_text=clean.free_text,
            name=respondent.name,
            phone=respondent.phone,
            ref=respondent.ref.strip() if respondent.ref and respondent.ref.strip() else None,
            submitted_at=(data.submitted_at or now or datetime.now(UTC)).astimezone(UTC),
            source=source,
            generated_id=generated,
        ),
        [],
    )


def prepare_raw(
    campaign: Campaign, raw: Any, pseudonymizer: Pseudonymizer, *, prefix: str, source: str = "api"
) -> tuple[PreparedResponse | None, list[FieldError]]:
    """Like `prepare`, from an unparsed JSON value (a batch row): errors are prefixed with the row's path."""
    if not isinstance(raw, dict):
        return None, [FieldError(prefix, "expected a JSON object (one response)")]
    found = bad_text(raw, prefix)
    if found:
        return None, found
    try:
        data = ResponseInput.model_validate(raw)
    except ValidationError as exc:
        return None, pydantic_errors(exc, prefix)
    prepared, errors = prepare(campaign, data, pseudonymizer, source=source)
    return prepared, [FieldError(f"{prefix}.{e.field}", e.message, e.value) for e in errors]
