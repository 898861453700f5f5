"""Campaigns and questionnaires: the survey service's vocabulary and its rules, as plain data.

A campaign is one activity of the social-dialogue programme: an opinion survey (with a questionnaire),
a focus group, a public consultation or the forum. Its status moves draft -> open -> closed, never back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_events.surveys import CampaignKind, QuestionType

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
CLOSED_TYPES = frozenset(
    {QuestionType.LIKERT_5, QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.NUMBER}
)
LIKERT_MIN, LIKERT_MAX = 1, 5
NUMBER_LIMIT = 1e12  # beyond any count, age or amount a rural survey asks; keeps sums exact in float
FREE_TEXT_MAX = 4000


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Option(BaseModel):
    """One choice of a single- or multiple-choice question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Value stored and exported (Kobo/ODK name)")
    label: LocalizedText


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question_id: str = Field(pattern=ID_PATTERN)
    type: QuestionType
    label: LocalizedText
    required: bool = False
    indicator: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="Indicator this closed question feeds, e.g. satisfaction_dialogue",
    )
    options: list[Option] = Field(default_factory=list, max_length=100)
    min: float | None = Field(None, ge=-NUMBER_LIMIT, le=NUMBER_LIMIT, description="Number questions: lowest value")
    max: float | None = Field(None, ge=-NUMBER_LIMIT, le=NUMBER_LIMIT, description="Number questions: highest value")

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        choice = self.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
        if choice and not self.options:
            raise ValueError(f"{self.type.value} question needs options")
        if not choice and self.options:
            raise ValueError(f"{self.type.value} question takes no options")
        codes = [o.code for o in self.options]
        if len(set(codes)) != len(codes):
            raise ValueError("option codes must be unique")
        if self.type == QuestionType.FREE_TEXT and self.indicator is not None:
            raise ValueError("a free-text question cannot feed an indicator (free text never leaves the service)")
        if (self.min is not None or self.max is not None) and self.type != QuestionType.NUMBER:
            raise ValueError("min/max apply to number questions only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    @property
    def closed(self) -> bool:
        return self.type in CLOSED_TYPES

    def option_codes(self) -> set[str]:
        return {o.code for o in self.options}


class FieldMapping(BaseModel):
    """Where each question and respondent field sits in a KoboToolbox JSON or ODK Central CSV export.

    Keys are question ids (or the respondent fields below); values are the export's column / JSON key.
    A question without a mapping is looked up by its own id, also inside groups (``group/q1``, ``group-q1``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    questions: dict[str, str] = Field(default_factory=dict, max_length=500)
    respondent_name: str | None = None
    respondent_phone: str | None = None
    respondent_ref: str | None = None
    age: str | None = None
    age_band: str | None = None
    gender: str | None = None
    settlement_code: str | None = Field(None, description="Column holding the settlement's official code")


class Mappings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kobo: FieldMapping = Field(default_factory=FieldMapping)
    odk: FieldMapping = Field(default_factory=FieldMapping)


@dataclass
class Campaign:
    campaign_id: str
    kind: CampaignKind
    wave: int
    title: LocalizedText
    place: Place
    planned_start: date
    planned_end: date
    target_size: int
    status: CampaignStatus
    questions: list[Question] = field(default_factory=list)
    mappings: Mappings = field(default_factory=Mappings)
    settlements: list[Place] = field(default_factory=list)
    questionnaire_from: str = "api"  # "xlsform": the questions come from the uploaded form (draft until then)

    def question(self, question_id: str) -> Question | None:
        for q in self.questions:
            if q.question_id == question_id:
                return q
        return None

    @property
    def is_survey(self) -> bool:
        return self.kind == CampaignKind.OPINION_SURVEY


def place_within(inner: Place, outer: Place) -> bool:
    """True when `inner` is `outer` or lies below it (codes compared level by level)."""
    outer_path = outer.path()
    return inner.path()[: len(outer_path)] == outer_path


# --- transitions -----------------------------------------------------------------------------------


class TransitionError(Exception):
    def __init__(self, current: CampaignStatus, wanted: CampaignStatus) -> None:
        super().__init__(f"campaign is {current.value}; it cannot become {wanted.value}")
        self.current = current
        self.wanted = wanted


def transition(current: CampaignStatus, wanted: CampaignStatus) -> bool:
    """Whether the move changes anything (False: already there, a no-op). Raises on a backward move."""
    order = [CampaignStatus.DRAFT, CampaignStatus.OPEN, CampaignStatus.CLOSED]
    if current == wanted:
        return False
    if order.index(wanted) != order.index(current) + 1:
        raise TransitionError(current, wanted)
    return True


# --- answers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if isinstance(self.value, (int, float, bool)) or (isinstance(self.value, str) and len(self.value) <= 200):
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class CleanAnswers:
    """Answers checked against the questionnaire, split by what may leave the service."""

    closed: dict[str, Any]  # question id -> int (Likert) | str (single) | list[str] (multiple) | float (number)
    free_text: dict[str, str]  # personal: stays in the service, erasable


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce_int(value: Any) -> int | None:
    """Likert answers arrive as 4, 4.0 or "4" (Kobo/ODK exports are text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 6:
        return int(value.strip())
    return None


def _coerce_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) <= NUMBER_LIMIT else math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, str) and len(value) <= 40:
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def validate_answers(
    campaign: Campaign, answers: dict[str, Any], *, prefix: str = "answers", text_choices: bool = False
) -> tuple[CleanAnswers, list[FieldError]]:
    """Check each answer against its question; name every bad one (``answers.<question_id>``).

    `text_choices`: multiple-choice answers may come as one space-separated string (Kobo and ODK exports).
    Empty answers (None, "", []) count as not answered.
    """
    errors: list[FieldError] = []
    closed: dict[str, Any] = {}
    free: dict[str, str] = {}
    for qid, raw in answers.items():
        path = f"{prefix}.{qid}"
        question = campaign.question(qid)
        if question is None:
            errors.append(FieldError(path, f"unknown question {qid!r}: not in this campaign's questionnaire"))
            continue
        if raw is None or raw == "" or raw == []:
            continue
        qtype = question.type
        if qtype == QuestionType.LIKERT_5:
            value = _coerce_int(raw)
            if value is None or not LIKERT_MIN <= value <= LIKERT_MAX:
                errors.append(FieldError(path, f"expected an integer from {LIKERT_MIN} to {LIKERT_MAX}", raw))
            else:
                closed[qid] = value
        elif qtype == QuestionType.SINGLE_CHOICE:
            if isinstance(raw, _SCALARS) and not isinstance(raw, bool) and str(raw) in question.option_codes():
                closed[qid] = str(raw)
            else:
                errors.append(FieldError(path, f"expected one of {sorted(question.option_codes())}", raw))
        elif qtype == QuestionType.MULTIPLE_CHOICE:
            items: Any = raw.split() if text_choices and isinstance(raw, str) else raw
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                errors.append(FieldError(path, "expected a list of option codes", raw))
                continue
            unknown = [i for i in items if i not in question.option_codes()]
            if unknown:
                errors.append(
                    FieldError(path, f"unknown option(s) {unknown[:5]}; expected {sorted(question.option_codes())}")
                )
            elif items:
                closed[qid] = sorted(set(items))
        elif qtype == QuestionType.NUMBER:
            number = _coerce_float(raw)
            if number is None or not math.isfinite(number) or abs(number) > NUMBER_LIMIT:
                errors.append(FieldError(path, "expected a finite number", raw))
            elif (question.min is not None and number < question.min) or (
                question.max is not None and number > question.max
            ):
                errors.append(FieldError(path, f"expected a number from {question.min} to {question.max}", raw))
            else:
                closed[qid] = number
        else:  # free text
            if not isinstance(raw, str) or isinstance(raw, bool):
                errors.append(FieldError(path, "expected text", raw))
            elif len(raw) > FREE_TEXT_MAX:
                errors.append(FieldError(path, f"text longer than {FREE_TEXT_MAX} characters"))
            elif "\x00" in raw:
                errors.append(FieldError(path, "text contains a NUL character"))
            else:
                free[qid] = raw
    for question in campaign.questions:
        qid = question.question_id
        answered = qid in closed or qid in free or any(e.field == f"{prefix}.{qid}" for e in errors)
        if question.required and not answered:
            errors.append(FieldError(f"{prefix}.{qid}", "required answer is missing"))
    return CleanAnswers(closed, free), errors


_SCALARS = (str, int)


def bad_text(obj: Any, path: str = "") -> list[FieldError]:
    """Strings PostgreSQL cannot store (NUL, unpaired surrogates), with where they are.

    Checked before anything is written, so such input is a 422 naming the field rather than a database error.
    """
    # Fast path (C-speed, nearly every request): ensure_ascii=False keeps text as is, so a lone surrogate
    # fails the UTF-8 encode and a NUL shows as the escape \u0000. Only a suspect input is walked.
    try:
        text: str | None = json.dumps(obj, ensure_ascii=False, default=str)
        text.encode("utf-8")  # type: ignore[union-attr]
    except (UnicodeEncodeError, TypeError, ValueError):
        text = None
    if text is not None and "\\u0000" not in text:
        return []
    found: list[FieldError] = []

    def walk(value: Any, where: str) -> None:
        if len(found) >= 20:
            return
        if isinstance(value, str):
            if "\x00" in value:
                found.append(FieldError(where or "body", "text contains a NUL character"))
            else:
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    found.append(FieldError(where or "body", "text is not valid Unicode (unpaired surrogate)"))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, f"{where}.<key>" if where else "<key>")
                walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")

    walk(obj, path)
    return found


def campaign_errors(campaign: Campaign) -> list[FieldError]:
    """Rules a campaign must meet before it is stored, each naming its field."""
    errors: list[FieldError] = []
    if campaign.planned_end < campaign.planned_start:
        errors.append(FieldError("planned_end", "planned_end is before planned_start", str(campaign.planned_end)))
    if campaign.is_survey and not campaign.questions and campaign.questionnaire_from != "xlsform":
        errors.append(FieldError("questions", "an opinion survey needs a questionnaire (at least one question)"))
    if not campaign.is_survey and (campaign.questions or campaign.questionnaire_from != "api"):
        errors.append(FieldError("questions", f"a {campaign.kind.value} has no questionnaire; record the meeting"))
    seen: set[str] = set()
    for i, q in enumerate(campaign.questions):
        if q.question_id in seen:
            errors.append(FieldError(f"questions[{i}].question_id", "duplicate question id", q.question_id))
        seen.add(q.question_id)
    for source in ("kobo", "odk"):
        mapping: FieldMapping = getattr(campaign.mappings, source)
        for qid in mapping.questions:
            if qid not in seen:
                errors.append(FieldError(f"mappings.{source}.questions.{qid}", "maps a question that does not exist"))
    for i, place in enumerate(campaign.settlements):
        if not place_within(place, campaign.place):
            errors.append(FieldError(f"settlements[{i}]", "settlement is outside the campaign's area"))
    return errors
