"""A campaign's questionnaire and import mappings derived from its XLSForm (the form Kobo and ODK deploy).

Read from the workbook's ``survey`` and ``choices`` sheets (``settings`` for the form id and version):

- ``select_one L`` -> single choice, ``select_multiple L`` -> multiple choice (option codes = the choice names of
  list L), ``integer``/``decimal``/``range`` -> number, ``text`` -> free text; a ``select_one`` with the
  ``likert`` appearance, or whose choices are exactly 1-5, is a Likert question (value = the choice name when it
  is 1-5, else its position in the list). Other types (notes, calculations, dates, metadata) are not questions.
- ``begin_group``/``end_group`` (also spelt ``begin group``) give the path prefix: ``grp/q1`` in Kobo's JSON,
  ``grp-q1`` in ODK Central's CSV. Questions inside a repeat are skipped (a repeat is many answers per row).
- ``label`` and ``label::Latvian (lv)`` style columns give the lv/ru/en labels (a missing language falls back).
- Respondent fields (age band, age, gender, settlement, name, phone, ref) are the questions an optional
  ``lsg_field`` column names, else the questions called ``age_band``/``age_group``, ``age``, ``gender``/``sex``,
  ``settlement``/``settlement_code``, ``respondent_name``/``name``, ``respondent_phone``/``phone``,
  ``respondent_ref``. Their choices get value mappings: age ranges from names such as ``18_29``, ``65_plus``;
  genders from names or labels (``female``, ``sieviete``, ``женский``...); settlements from names that are the
  campaign's settlement codes or labels that are its settlement names. An optional ``lsg_value`` column of the
  choices sheet states a choice's value outright; ``lsg_indicator`` on the survey sheet names an indicator.
  (pyxform ignores columns it does not know, so the same file still deploys to Kobo and ODK.)

Every choice that could not be mapped is listed in `FormDefinition.warnings`; the mapping is an ordinary
mapping version, shown and editable afterwards, and a dry run shows what it does to an export.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lsg_events.i18n import LocalizedText
from lsg_events.surveys import QuestionType
from lsg_surveys.domain.mappings import GENDER_WORDS, ImportMapping, MappingSet, Value, resolve_age
from lsg_surveys.domain.model import ID_PATTERN, Campaign, FieldError, Option, Question

RESPONDENT_FIELDS = (
    "age_band",
    "age",
    "gender",
    "settlement_code",
    "respondent_name",
    "respondent_phone",
    "respondent_ref",
)
_FIELD_NAMES: dict[str, str] = {
    "age_band": "age_band",
    "age_group": "age_band",
    "age_range": "age_band",
    "age": "age",
    "gender": "gender",
    "sex": "gender",
    "settlement": "settlement_code",
    "settlement_code": "settlement_code",
    "respondent_name": "respondent_name",
    "name": "respondent_name",
    "respondent_phone": "respondent_phone",
    "phone": "respondent_phone",
    "respondent_ref": "respondent_ref",
}
_NUMBER_TYPES = frozenset({"integer", "decimal", "range"})
_LANG = re.compile(r"^label::(?:.*\((?P<code>[A-Za-z-]+)\)|(?P<bare>[A-Za-z-]+))\s*$")
_OPTION_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_QUESTION_ID = re.compile(ID_PATTERN)
_AGE_NAME = re.compile(r"^(?:age_?)?(\d{1,3})\s*[_\-–]\s*(\d{1,3})$")
_AGE_PLUS = re.compile(r"^(?:age_?)?(\d{1,3})\s*(?:\+|_?plus|_and_(?:over|older|more)|_or_(?:more|older))$")
_AGE_UNDER = re.compile(r"^(?:under|below|less_than)_?(\d{1,3})$")
MAX_ROWS = 5000


@dataclass
class FormDefinition:
    questions: list[Question]
    mappings: MappingSet
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _sheet_rows(book: Any, name: str) -> list[dict[str, str]] | None:
    sheet = next((book[s] for s in book.sheetnames if s.strip().lower() == name), None)
    if sheet is None:
        return None
    rows: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return []
    keys = [_cell(h).replace("list name", "list_name") for h in header]
    out = []
    for i, values in enumerate(rows):
        if i >= MAX_ROWS:
            break
        row = {k: _cell(v) for k, v in zip(keys, values, strict=False) if k}
        if any(row.values()):
            out.append(row)
    return out


def _labels(row: dict[str, str], fallback: str) -> LocalizedText:
    found: dict[str, str] = {}
    for key, value in row.items():
        match = _LANG.match(key)
        if match and value:
            code = (match.group("code") or match.group("bare") or "").lower()[:2]
            found.setdefault(code, value)
    plain = row.get("label", "")
    default = found.get("en") or plain or found.get("lv") or found.get("ru") or next(iter(found.values()), fallback)
    return LocalizedText(
        lv=(found.get("lv") or default)[:500],
        ru=(found.get("ru") or default)[:500],
        en=(found.get("en") or default)[:500],
    )


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def age_value(name: str) -> str | None:
    """A choice name read as an age range: ``18_29`` -> 18-29, ``65_plus`` -> 65+, ``under_18`` -> 0-17."""
    text = name.strip().lower()
    if resolve_age(text) is not None:
        return text
    if m := _AGE_NAME.match(text):
        return f"{int(m.group(1))}-{int(m.group(2))}"
    if m := _AGE_PLUS.match(text):
        return f"{int(m.group(1))}+"
    if m := _AGE_UNDER.match(text):
        return f"0-{max(int(m.group(1)) - 1, 0)}"
    if text in ("undisclosed", "prefer_not_to_say", "no_answer", "refused"):
        return "undisclosed"
    return None


def parse_xlsform(data: bytes, campaign: Campaign) -> tuple[FormDefinition | None, list[FieldError]]:
    """The questions and mappings of an XLSForm workbook (``.xlsx``), or the errors naming sheet, row and column."""
    import openpyxl  # imported here: only this parser needs it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        return None, [FieldError("body", f"not an XLSForm workbook (.xlsx): {type(exc).__name__}")]
    try:
        survey = _sheet_rows(book, "survey")
        choices_rows = _sheet_rows(book, "choices") or []
        settings = (_sheet_rows(book, "settings") or [{}])[:1]
    finally:
        book.close()
    if survey is None:
        return None, [FieldError("body.survey", "an XLSForm has a 'survey' sheet; none found")]
    if survey and ("type" not in survey[0] or "name" not in survey[0]):
        return None, [FieldError("body.survey", "the survey sheet needs 'type' and 'name' columns")]
    lists: dict[str, list[dict[str, str]]] = {}
    for row in choices_rows:
        if row.get("list_name") and row.get("name"):
            lists.setdefault(row["list_name"], []).append(row)
    errors: list[FieldError] = []
    warnings: list[str] = []
    questions: list[Question] = []
    kobo: dict[str, Any] = {"questions": {}}
    odk: dict[str, Any] = {"questions": {}}
    groups: list[str] = []
    repeats = 0
    codes = {
        (p.settlement or p.territory or p.municipality).code: p  # type: ignore[union-attr]
        for p in campaign.settlements
        if (p.settlement or p.territory or p.municipality) is not None
    }
    by_label: dict[str, str] = {}
    for code, place in codes.items():
        unit = place.settlement or place.territory or place.municipality
        assert unit is not None
        for text in (unit.name.lv, unit.name.ru, unit.name.en):
            by_label.setdefault(_norm(text), code)

    for index, row in enumerate(survey):
        where = f"body.survey[{index + 2}]"  # the spreadsheet's row number (header is row 1)
        kind = " ".join(row.get("type", "").split())
        name = row.get("name", "")
        head = kind.replace(" ", "_").lower()
        if head in ("begin_group", "begin_repeat"):
            groups.append(name)
            repeats += head == "begin_repeat"
            continue
        if head in ("end_group", "end_repeat"):
            if groups:
                groups.pop()
            repeats -= head == "end_repeat" and repeats > 0
            continue
        base = kind.split(" ")[0].lower()
        if base not in ("select_one", "select_multiple", "text") and base not in _NUMBER_TYPES:
            continue
        if not name:
            errors.append(FieldError(f"{where}.name", "a question needs a name"))
            continue
        if repeats:
            warnings.append(f"{'/'.join([*groups, name])}: inside a repeat, not imported")
            continue
        kobo_path = "/".join([*groups, name])
        odk_path = "-".join([*groups, name])
        role = (row.get("lsg_field") or "").strip() or _FIELD_NAMES.get(name.lower(), "")
        if role and role not in RESPONDENT_FIELDS:
            errors.append(FieldError(f"{where}.lsg_field", f"expected one of {list(RESPONDENT_FIELDS)}", role))
            continue
        choice_rows: list[dict[str, str]] = []
        if base.startswith("select"):
            parts = kind.split(" ")
            list_name = parts[1] if len(parts) > 1 else ""
            if list_name not in lists:
                errors.append(FieldError(f"{where}.type", f"choice list {list_name!r} is not on the choices sheet"))
                continue
            choice_rows = lists[list_name]
        if role:
            if role in ("age_band", "gender", "settlement_code"):
                coded, missing = _coded_values(role, choice_rows, codes, by_label)
                for unmapped in missing:
                    warnings.append(f"{kobo_path}: choice {unmapped!r} has no {role} value; add it to the mapping")
                kobo[role] = {"column": kobo_path, "values": coded}
                odk[role] = {"column": odk_path, "values": coded}
            else:
                kobo[role] = kobo_path
                odk[role] = odk_path
            continue
        if not _QUESTION_ID.match(name):
            errors.append(FieldError(f"{where}.name", "a question name must start with a letter (A-Z, 0-9, _ . -)"))
            continue
        label = _labels(row, name)
        values: dict[str, Value] = {}
        try:
            if base.startswith("select"):
                likert = (
                    "likert" in row.get("appearance", "").lower()
                    or row.get("lsg_type") == "likert_5"
                    or (base == "select_one" and sorted(c["name"] for c in choice_rows) == ["1", "2", "3", "4", "5"])
                )
                if likert and base == "select_one":
                    if len(choice_rows) != 5:
                        errors.append(FieldError(f"{where}.type", "a Likert question needs exactly 5 choices"))
                        continue
                    for position, choice in enumerate(choice_rows, start=1):
                        stated = choice.get("lsg_value", "")
                        values[choice["name"]] = (
                            int(stated)
                            if stated.isdigit()
                            else (int(choice["name"]) if choice["name"] in {"1", "2", "3", "4", "5"} else position)
                        )
                    question = Question(
                        question_id=name,
                        type=QuestionType.LIKERT_5,
                        label=label,
                        indicator=_indicator(row),
                        required=_required(row),
                    )
                else:
                    bad = [c["name"] for c in choice_rows if not _OPTION_CODE.match(c["name"])]
                    if bad:
                        errors.append(FieldError(f"{where}.type", f"choice names must be A-Z, 0-9, _ . -: {bad[:5]}"))
                        continue
                    question = Question(
                        question_id=name,
                        type=QuestionType.SINGLE_CHOICE if base == "select_one" else QuestionType.MULTIPLE_CHOICE,
                        label=label,
                        options=[Option(code=c["name"], label=_labels(c, c["name"])) for c in choice_rows[:100]],
                        indicator=_indicator(row),
                        required=_required(row),
                    )
            elif base in _NUMBER_TYPES:
                question = Question(
                    question_id=name,
                    type=QuestionType.NUMBER,
                    label=label,
                    indicator=_indicator(row),
                    required=_required(row),
                )
            else:
                question = Question(question_id=name, type=QuestionType.FREE_TEXT, label=label, required=_required(row))
        except ValidationError as exc:
            errors.append(FieldError(where, "; ".join(e["msg"] for e in exc.errors())[:300]))
            continue
        questions.append(question)
        kobo["questions"][name] = {"column": kobo_path, "values": values}
        odk["questions"][name] = {"column": odk_path, "values": values}
    if not questions and not errors:
        errors.append(FieldError("body.survey", "the form has no question the survey service can take"))
    if errors:
        return None, errors
    mappings = MappingSet(kobo=ImportMapping.model_validate(kobo), odk=ImportMapping.model_validate(odk))
    head_settings = settings[0] if settings else {}
    summary = {
        "form_id": head_settings.get("form_id") or None,
        "version": head_settings.get("version") or None,
        "title": head_settings.get("form_title") or None,
        "questions": len(questions),
        "warnings": warnings,
    }
    return FormDefinition(questions, mappings, summary, warnings), []


def _indicator(row: dict[str, str]) -> str | None:
    return row.get("lsg_indicator") or None


def _required(row: dict[str, str]) -> bool:
    return row.get("required", "").strip().lower() in ("yes", "true", "true()", "1")


def _coded_values(
    role: str, choices: list[dict[str, str]], codes: dict[str, Any], by_label: dict[str, str]
) -> tuple[dict[str, Value], list[str]]:
    """Value mappings of a respondent field's choices, and the choices no value could be found for."""
    values: dict[str, Value] = {}
    missing: list[str] = []
    for choice in choices:
        name = choice["name"]
        stated = choice.get("lsg_value", "")
        labels = [v for k, v in choice.items() if (k == "label" or k.startswith("label::")) and v]
        found: str | None = stated or None
        if found is None and role == "age_band":
            found = age_value(name)
        elif found is None and role == "gender":
            found = next((GENDER_WORDS[w] for w in (_norm(name), *map(_norm, labels)) if w in GENDER_WORDS), None)
        elif found is None and role == "settlement_code":
            found = name if name in codes else next((by_label[_norm(t)] for t in labels if _norm(t) in by_label), None)
        if found is None:
            missing.append(name)
        else:
            values[name] = found
    return values, missing
