"""Import mappings: where each field sits in a KoboToolbox JSON or ODK Central CSV export, and what each of the
form's choice names means in the suite's vocabulary (value mappings).

A mapping is data kept per campaign in numbered versions (`application/mappings.py`); an import uses the
latest version and records its number. ``match="explicit"`` (the default of every new mapping) reads only the
columns the mapping names; ``match="name"`` also looks an unmapped question or respondent field up by its own
name, also inside groups (``grp/q1``, ``grp-q1``) — the behaviour of campaigns created with the older
``mappings`` object of ``POST /v1/campaigns``, which keep it (`legacy`).

Age: the suite publishes fixed bands (16-24 ... 65+). A form's ranges rarely line up (``18_29``, ``30_44``), so
an age-band value maps to the range the form asked (``"18-29"``, ``"65+"``) or to a suite band. A range inside
one suite band is published as that band; a range that straddles bands is published as it was asked
(``age_range``) with ``age_band="undisclosed"`` — never squeezed into a band it does not fit (`resolve_age`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from lsg_events.base import Gender
from lsg_events.surveys import AgeBand, QuestionType
from lsg_surveys.domain.model import Campaign, FieldError, FieldMapping, Mappings
from lsg_surveys.domain.privacy import AGE_BANDS

Value = str | int
Source = Literal["kobo", "odk"]
SEPARATORS: dict[str, str] = {"kobo": "/", "odk": "-"}
CODED_FIELDS = ("age_band", "gender", "settlement_code")
COLUMN_FIELDS = ("respondent_name", "respondent_phone", "respondent_ref", "age")
_RANGE = re.compile(r"^(\d{1,3})(?:-(\d{1,3})|(\+))$")
MIN_PUBLISHED_AGE = 16  # younger groups are too small to publish (privacy.age_band)

# Gender words a form commonly uses (names or labels, lv/ru/en): the default value map of a gender column.
GENDER_WORDS: dict[str, Gender] = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "sieviete": "female",
    "женский": "female",
    "женщина": "female",
    "ж": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "vīrietis": "male",
    "мужской": "male",
    "мужчина": "male",
    "м": "male",
    "other": "other",
    "cits": "other",
    "другое": "other",
    "undisclosed": "undisclosed",
    "prefer_not_to_say": "undisclosed",
    "": "undisclosed",
}
GENDERS: tuple[str, ...] = get_args(Gender)


class Column(BaseModel):
    """One field's place in the export and, for coded fields, its value mapping (form's choice name -> value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str = Field(min_length=1, max_length=300, description="JSON key (Kobo: grp/q1) or CSV column (grp-q1)")
    values: dict[str, Value] = Field(
        default_factory=dict,
        max_length=2000,
        description="The form's choice name -> the suite's value (option code, Likert 1-5, age range, gender, "
        "settlement code). Empty: the export already holds the suite's values.",
    )


class ImportMapping(BaseModel):
    """How one source's export (Kobo or ODK) is read for a campaign."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: Literal["explicit", "name"] = Field(
        "explicit",
        description="explicit: only the columns named here are read; name: an unmapped question or respondent "
        "field is also looked up by its own name, also inside groups",
    )
    questions: dict[str, Column] = Field(default_factory=dict, max_length=500)
    respondent_name: str | None = Field(None, max_length=300)
    respondent_phone: str | None = Field(None, max_length=300)
    respondent_ref: str | None = Field(None, max_length=300)
    age: str | None = Field(None, max_length=300, description="Column of the age in whole years")
    age_band: Column | None = None
    gender: Column | None = None
    settlement_code: Column | None = None

    def coded(self, name: str) -> Column | None:
        found: Column | None = getattr(self, name)
        return found

    def column(self, name: str) -> str | None:
        found: str | None = getattr(self, name)
        return found


class MappingSet(BaseModel):
    """A campaign's mappings for both sources: what one version holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kobo: ImportMapping = Field(default_factory=ImportMapping)
    odk: ImportMapping = Field(default_factory=ImportMapping)

    def of(self, source: Source) -> ImportMapping:
        return self.kobo if source == "kobo" else self.odk


def legacy(mappings: Mappings) -> MappingSet:
    """Version 0: a campaign's creation-time ``mappings`` read as before (name matching, no value maps)."""

    def convert(old: FieldMapping) -> ImportMapping:
        def col(name: str | None) -> Column | None:
            return Column(column=name) if name else None

        return ImportMapping(
            match="name",
            questions={q: Column(column=c) for q, c in old.questions.items()},
            respondent_name=old.respondent_name,
            respondent_phone=old.respondent_phone,
            respondent_ref=old.respondent_ref,
            age=old.age,
            age_band=col(old.age_band),
            gender=col(old.gender),
            settlement_code=col(old.settlement_code),
        )

    return MappingSet(kobo=convert(mappings.kobo), odk=convert(mappings.odk))


# --- age ---------------------------------------------------------------------------------------------------


def parse_range(text: str) -> tuple[int, int] | None:
    """``"18-29"`` -> (18, 29); ``"65+"`` -> (65, 200); else None."""
    found = _RANGE.match(text.strip())
    if found is None:
        return None
    low = int(found.group(1))
    high = 200 if found.group(3) else int(found.group(2))
    return (low, high) if low <= high else None


def resolve_age(value: str) -> tuple[AgeBand, str | None] | None:
    """The published (band, range) of a mapped age value: a suite band as itself; a range inside one band as that
    band plus the range; a straddling range as undisclosed plus the range; one reaching under 16 as undisclosed.
    None when the value is neither a band nor a range."""
    if value == "undisclosed":
        return "undisclosed", None
    span = parse_range(value)
    if span is None:
        return None
    low, high = span
    if low < MIN_PUBLISHED_AGE:
        return "undisclosed", None
    for band_low, band_high, band in AGE_BANDS:
        if band_low <= low and high <= band_high:
            exact = (band_low, band_high) == (low, high)
            return band, None if exact else _range_text(low, high)
    return "undisclosed", _range_text(low, high)


def _range_text(low: int, high: int) -> str:
    return f"{low}+" if high >= 200 else f"{low}-{high}"


# --- checks of a mapping against its campaign ----------------------------------------------------------------


def settlement_codes(campaign: Campaign) -> set[str]:
    codes = set()
    for place in campaign.settlements:
        unit = place.settlement or place.territory or place.municipality
        if unit is not None:
            codes.add(unit.code)
    return codes


def _target_error(campaign: Campaign, name: str, value: Value) -> str | None:
    """Why `value` is no valid target for the field `name` (a coded field or a question id), or None."""
    if name == "age_band":
        return (
            None
            if isinstance(value, str) and resolve_age(value)
            else "expected a suite band or a range like 18-29 / 65+"
        )
    if name == "gender":
        return None if value in GENDERS else f"expected one of {list(GENDERS)}"
    if name == "settlement_code":
        return None if str(value) in settlement_codes(campaign) else "not a settlement code of this campaign"
    question = campaign.question(name)
    if question is None:
        return "no such question"
    if question.type == QuestionType.LIKERT_5:
        ok = (isinstance(value, int) and 1 <= value <= 5) or (
            isinstance(value, str) and value in {"1", "2", "3", "4", "5"}
        )
        return None if ok else "expected a Likert value 1-5"
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        return None if str(value) in question.option_codes() else f"expected one of {sorted(question.option_codes())}"
    return f"a {question.type.value} question takes no value mapping"


def mapping_errors(campaign: Campaign, mappings: MappingSet, prefix: str = "mappings") -> list[FieldError]:
    """Every place where a mapping does not fit the campaign: unknown questions, values that are no valid
    target (an option code the question lacks, a Likert 7, an unknown settlement code...)."""
    errors: list[FieldError] = []
    for source in ("kobo", "odk"):
        mapping = mappings.kobo if source == "kobo" else mappings.odk
        base = f"{prefix}.{source}"
        for qid, col in mapping.questions.items():
            if campaign.question(qid) is None:
                errors.append(FieldError(f"{base}.questions.{qid}", "maps a question that does not exist"))
                continue
            for choice, value in col.values.items():
                why = _target_error(campaign, qid, value)
                if why:
                    errors.append(FieldError(f"{base}.questions.{qid}.values.{choice}", why, value))
        for name in CODED_FIELDS:
            coded = mapping.coded(name)
            for choice, value in (coded.values if coded else {}).items():
                why = _target_error(campaign, name, value)
                if why:
                    errors.append(FieldError(f"{base}.{name}.values.{choice}", why, value))
    return errors


# --- reading a row ------------------------------------------------------------------------------------------


def lookup_by_name(row: Mapping[str, Any], name: str, separator: str) -> tuple[str | None, Any]:
    """(key, value) of a field by exact name, else by its last path segment inside groups."""
    if name in row:
        return name, row[name]
    for key, value in row.items():
        if isinstance(key, str) and key.rsplit(separator, 1)[-1] == name:
            return key, value
    return None, None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass
class FieldRead:
    """What a row gave for one field: its column, the raw value, and the value after mapping (or the choices
    that have no mapping)."""

    column: str | None
    raw: Any = None
    value: Any = None
    unmapped: list[str] = field(default_factory=list)


def _map_value(
    raw: Any, values: Mapping[str, Value], *, multiple: bool, identity: set[str] | None
) -> tuple[Any, list[str]]:
    """A raw answer through a value map. Without a map the raw value passes (checked later by the answer rules);
    `identity` then names the values the suite knows, so a dry run can tell which ones are unmapped."""
    if multiple:
        items = raw.split() if isinstance(raw, str) else raw
        if not isinstance(items, list):
            return raw, []
        if not values:
            unknown = [str(i) for i in items if identity is not None and str(i) not in identity]
            return raw, unknown
        mapped = [values.get(str(i)) for i in items]
        unknown = [str(i) for i, m in zip(items, mapped, strict=True) if m is None]
        return ([str(m) for m in mapped] if not unknown else raw), unknown
    key = str(raw).strip() if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
    if isinstance(raw, float) and raw.is_integer():
        key = str(int(raw))
    if not values:
        if identity is not None and key is not None and key not in identity:
            return raw, [key]
        return raw, []
    if key is None or key not in values:
        return raw, [key if key is not None else repr(raw)[:60]]
    return values[key], []


def _identity(campaign: Campaign, name: str) -> set[str] | None:
    """The values a field accepts as they are (when its column has no value map), or None for free values."""
    if name == "settlement_code":
        return settlement_codes(campaign)
    if name == "age_band":
        return set(get_args(AgeBand))
    question = campaign.question(name)
    if question is None:
        return None
    if question.type == QuestionType.LIKERT_5:
        return {"1", "2", "3", "4", "5"}
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        return question.option_codes()
    return None


def read_fields(
    campaign: Campaign, mapping: ImportMapping, row: Mapping[str, Any], separator: str
) -> dict[str, FieldRead]:
    """Each question and respondent field of one export row, read through the mapping (field name -> read)."""
    by_name = mapping.match == "name"
    out: dict[str, FieldRead] = {}

    def locate(column: str | None, name: str) -> tuple[str | None, Any]:
        if column:
            return column, row.get(column)
        return lookup_by_name(row, name, separator) if by_name else (None, None)

    for q in campaign.questions:
        col = mapping.questions.get(q.question_id)
        key, raw = locate(col.column if col else None, q.question_id)
        read = FieldRead(key, raw)
        if not _empty(raw):
            multiple = q.type == QuestionType.MULTIPLE_CHOICE
            read.value, read.unmapped = _map_value(
                raw, col.values if col else {}, multiple=multiple, identity=_identity(campaign, q.question_id)
            )
        out[q.question_id] = read
    for name in COLUMN_FIELDS:
        key, raw = locate(mapping.column(name), name)
        out[name] = FieldRead(key, raw, raw)
    for name in CODED_FIELDS:
        coded = mapping.coded(name)
        key, raw = locate(coded.column if coded else None, name)
        read = FieldRead(key, raw)
        if name == "gender":
            if raw is not None:  # an empty gender is "undisclosed", as before
                values: Mapping[str, Value] = coded.values if coded and coded.values else {}
                text = str(raw).strip()
                if values:
                    read.value, read.unmapped = _map_value(raw, values, multiple=False, identity=None)
                else:
                    word = GENDER_WORDS.get(text.casefold())
                    read.value, read.unmapped = (word, []) if word else (raw, [text])
        elif not _empty(raw):
            read.value, read.unmapped = _map_value(
                raw, coded.values if coded else {}, multiple=False, identity=_identity(campaign, name)
            )
        out[name] = read
    return out


def to_input(
    campaign: Campaign, mapping: ImportMapping, row: Mapping[str, Any], separator: str, index: int
) -> tuple[dict[str, Any], list[FieldError]]:
    """An export row as a `ResponseInput` dict (checked later), and the errors of its mapping: a value with no
    mapping is named with the row, the field and the value (``rows[3].age_band``)."""
    reads = read_fields(campaign, mapping, row, separator)
    errors: list[FieldError] = []
    answers: dict[str, Any] = {}
    for q in campaign.questions:
        read = reads[q.question_id]
        if _empty(read.raw):
            continue
        col = mapping.questions.get(q.question_id)
        if read.unmapped and col is not None and col.values:
            errors.append(_unmapped(index, f"answers.{q.question_id}", read))
        else:
            answers[q.question_id] = read.value
    data: dict[str, Any] = {"answers": answers}
    respondent = {
        short: str(reads[name].value)
        for short, name in (("name", "respondent_name"), ("phone", "respondent_phone"), ("ref", "respondent_ref"))
        if not _empty(reads[name].value)
    }
    if respondent:
        data["respondent"] = respondent
    age = reads["age"].value
    if not _empty(age):
        try:
            data["age"] = int(str(age).strip())
        except ValueError:
            errors.append(FieldError(f"rows[{index}].age", "expected a whole number of years", age))
    band = reads["age_band"]
    if not _empty(band.raw):
        coded = mapping.coded("age_band")
        if band.unmapped and coded is not None and coded.values:
            errors.append(_unmapped(index, "age_band", band))
        else:
            resolved = resolve_age(str(band.value).strip())
            if resolved is None:
                data["age_band"] = str(band.value).strip()  # not a band: the response's check names it
            else:
                data["age_band"], age_range = resolved
                if age_range is not None:
                    data["age_range"] = age_range
    gender = reads["gender"]
    if gender.raw is not None:
        if gender.unmapped:
            coded = mapping.coded("gender")
            if coded is not None and coded.values:
                errors.append(_unmapped(index, "gender", gender))
            else:
                errors.append(
                    FieldError(f"rows[{index}].gender", "expected female, male, other or undisclosed", gender.raw)
                )
        else:
            data["gender"] = gender.value
    settlement = reads["settlement_code"]
    if not _empty(settlement.raw):
        coded = mapping.coded("settlement_code")
        if settlement.unmapped and coded is not None and coded.values:
            errors.append(_unmapped(index, "settlement_code", settlement))
        else:
            data["settlement_code"] = str(settlement.value).strip()
    return data, errors


def _unmapped(index: int, where: str, read: FieldRead) -> FieldError:
    shown = ", ".join(repr(v) for v in read.unmapped[:5])
    return FieldError(
        f"rows[{index}].{where}",
        f"no value mapping for {shown} (column {read.column}); add it to the campaign's mapping",
        read.unmapped[0] if len(read.unmapped) == 1 else None,
    )


# --- dry run -----------------------------------------------------------------------------------------------

_META_PREFIXES = ("_", "meta/", "meta-", "formhub/", "__")
_META_KEYS = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "username",
        "SubmissionDate",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
        "instanceID",
    }
)


@dataclass
class FieldReport:
    """What a dry run saw for one field across the export."""

    name: str
    column: str | None
    rows_with_value: int = 0
    mapped: Counter[str] = field(default_factory=Counter)  # "choice -> value" counts
    unmapped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.name,
            "column": self.column,
            "rows_with_value": self.rows_with_value,
            "mapped": dict(sorted(self.mapped.items())),
            "unmapped": dict(sorted(self.unmapped.items())),
        }


def dry_run_fields(
    campaign: Campaign, mapping: ImportMapping, rows: list[Any], source: Source
) -> tuple[list[FieldReport], list[str]]:
    """Per field: its column, how many rows have a value, each value's mapping (with counts) and the values
    without one; and the export's columns nothing reads (metadata excluded)."""
    separator = SEPARATORS[source]
    names = [q.question_id for q in campaign.questions] + list(COLUMN_FIELDS) + list(CODED_FIELDS)
    reports = {n: FieldReport(n, None) for n in names}
    used: set[str] = set()
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, dict):
            continue
        seen.update(k for k in row if isinstance(k, str))
        for name, read in read_fields(campaign, mapping, row, separator).items():
            report = reports[name]
            if read.column is not None:
                used.add(read.column)
                report.column = report.column or read.column
            if _empty(read.raw):
                continue
            report.rows_with_value += 1
            for value in read.unmapped:
                report.unmapped[value] += 1
            if not read.unmapped and name not in COLUMN_FIELDS and _is_coded(campaign, name):
                for shown in _pairs(read.raw, read.value):
                    report.mapped[shown] += 1
    for name, report in reports.items():
        if report.column is None:
            report.column = _named_column(campaign, mapping, name)
    unused = sorted(c for c in seen - used if not c.startswith(_META_PREFIXES) and c not in _META_KEYS)
    return [r for r in reports.values() if r.column is not None or r.rows_with_value], unused


def _named_column(campaign: Campaign, mapping: ImportMapping, name: str) -> str | None:
    """The column the mapping names for a field (None: the field is not mapped)."""
    if campaign.question(name) is not None:
        col = mapping.questions.get(name)
        return col.column if col else None
    if name in CODED_FIELDS:
        coded = mapping.coded(name)
        return coded.column if coded else None
    return mapping.column(name)


def _is_coded(campaign: Campaign, name: str) -> bool:
    if name in CODED_FIELDS:
        return True
    question = campaign.question(name)
    return question is not None and question.type in (
        QuestionType.LIKERT_5,
        QuestionType.SINGLE_CHOICE,
        QuestionType.MULTIPLE_CHOICE,
    )


def _pairs(raw: Any, value: Any) -> list[str]:
    if isinstance(value, list):
        items = raw.split() if isinstance(raw, str) else list(raw)
        return [f"{r} -> {v}" for r, v in zip(items, value, strict=False)]
    return [f"{str(raw).strip()} -> {value}"]
