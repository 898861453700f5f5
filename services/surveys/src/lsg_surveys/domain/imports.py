"""KoboToolbox JSON and ODK Central CSV exports turned into response inputs.

Each export row becomes the same `ResponseInput` an API client sends, so one set of rules applies.
Identity of a row (STANDARDS.md): Kobo ``meta/instanceID`` (else ``_uuid``), an edit carrying
``meta/deprecatedID`` (and ``meta/rootUuid``); ODK Central ``KEY`` (the submission) with
``meta-instanceID`` (its current version). Rows a reviewer rejected are skipped, not imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lsg_surveys.domain.model import Campaign, FieldError, FieldMapping

_GENDERS = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "sieviete": "female",
    "женский": "female",
    "ж": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "vīrietis": "male",
    "мужской": "male",
    "м": "male",
    "other": "other",
    "undisclosed": "undisclosed",
    "": "undisclosed",
}


@dataclass
class ImportRow:
    row: int
    data: dict[str, Any] | None  # a ResponseInput as a dict (validated later), or None when skipped / broken
    replaces_candidates: list[str]
    errors: list[FieldError]
    skipped: str | None = None


def _norm_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().startswith("uuid:"):
        text = text[5:]
    return text or None


def _lookup(row: Mapping[str, Any], name: str, separator: str) -> Any:
    """A field by exact name, else by its last path segment inside groups (``grp/q1``, ``grp-q1``)."""
    if name in row:
        return row[name]
    for key, value in row.items():
        if isinstance(key, str) and key.rsplit(separator, 1)[-1] == name:
            return value
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # Kobo's _submission_time is UTC without an offset.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _to_input(
    campaign: Campaign, mapping: FieldMapping, row: Mapping[str, Any], separator: str, index: int
) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    answers: dict[str, Any] = {}
    for q in campaign.questions:
        column = mapping.questions.get(q.question_id)
        value = row.get(column) if column else _lookup(row, q.question_id, separator)
        if value is not None and value != "":
            answers[q.question_id] = value

    def field_value(column: str | None, default: str) -> Any:
        return row.get(column) if column else _lookup(row, default, separator)

    respondent = {
        "name": field_value(mapping.respondent_name, "respondent_name"),
        "phone": field_value(mapping.respondent_phone, "respondent_phone"),
        "ref": field_value(mapping.respondent_ref, "respondent_ref"),
    }
    data: dict[str, Any] = {"answers": answers}
    respondent = {k: str(v) for k, v in respondent.items() if v not in (None, "")}
    if respondent:
        data["respondent"] = respondent
    age = field_value(mapping.age, "age")
    if age not in (None, ""):
        try:
            data["age"] = int(str(age).strip())
        except ValueError:
            errors.append(FieldError(f"rows[{index}].age", "expected a whole number of years", age))
    band = field_value(mapping.age_band, "age_band")
    if band not in (None, ""):
        data["age_band"] = str(band).strip()
    gender = field_value(mapping.gender, "gender")
    if gender is not None:
        normalised = _GENDERS.get(str(gender).strip().casefold())
        if normalised is None:
            errors.append(FieldError(f"rows[{index}].gender", "expected female, male, other or undisclosed", gender))
        else:
            data["gender"] = normalised
    settlement = field_value(mapping.settlement_code, "settlement_code")
    if settlement not in (None, ""):
        data["settlement_code"] = str(settlement).strip()
    return data, errors


def _kobo_rows(payload: Any) -> list[Any] | None:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return list(payload["results"])  # the Kobo API's paginated form: {"count", "next", "results"}
    return None


def parse_kobo(campaign: Campaign, payload: Any) -> tuple[list[ImportRow], list[FieldError]]:
    """Rows of a KoboToolbox JSON export (a list of submissions, or the API's {"results": [...]})."""
    rows = _kobo_rows(payload)
    if rows is None:
        return [], [FieldError("body", "expected a JSON array of Kobo submissions or an object with 'results'")]
    out: list[ImportRow] = []
    mapping = campaign.mappings.kobo
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            out.append(ImportRow(i, None, [], [FieldError(f"rows[{i}]", "expected a JSON object (one submission)")]))
            continue
        status = row.get("_validation_status")
        if isinstance(status, dict) and status.get("uid") == "validation_status_not_approved":
            out.append(ImportRow(i, None, [], [], skipped="not approved in KoboToolbox"))
            continue
        version = _norm_id(row.get("meta/instanceID")) or _norm_id(row.get("_uuid"))
        if version is None:
            out.append(ImportRow(i, None, [], [FieldError(f"rows[{i}].meta/instanceID", "missing submission id")]))
            continue
        data, errors = _to_input(campaign, mapping, row, "/", i)
        data["submission_id"] = version
        deprecated = _norm_id(row.get("meta/deprecatedID"))
        if deprecated:
            data["replaces"] = deprecated
        submitted = _parse_time(row.get("_submission_time")) or _parse_time(row.get("end"))
        if submitted is not None:
            data["submitted_at"] = submitted
        candidates = [
            c
            for c in (deprecated, _norm_id(row.get("meta/rootUuid")), _norm_id(row.get("_uuid")))
            if c and c != version
        ]
        out.append(ImportRow(i, data, list(dict.fromkeys(candidates)), errors))
    return out, []


def _csv_rows(text: str) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(text))


def parse_odk_csv(campaign: Campaign, text: str) -> tuple[list[ImportRow], list[FieldError]]:
    """Rows of an ODK Central CSV export (columns SubmissionDate, KEY, ReviewState, FormVersion, fields)."""
    try:
        rows = list(_csv_rows(text.lstrip("\ufeff")))
    except csv.Error as exc:
        return [], [FieldError("body", f"not a readable CSV file: {exc}")]
    if not rows:
        return [], [FieldError("body", "the CSV file has no data rows")]
    if "KEY" not in rows[0]:
        return [], [FieldError("body.KEY", "an ODK Central export has a KEY column; none found")]
    out: list[ImportRow] = []
    mapping = campaign.mappings.odk
    for i, row in enumerate(rows):
        if None in row:  # more cells than headers
            out.append(ImportRow(i, None, [], [FieldError(f"rows[{i}]", "more cells than columns")]))
            continue
        if (row.get("ReviewState") or "").strip().lower() == "rejected":
            out.append(ImportRow(i, None, [], [], skipped="rejected in ODK Central"))
            continue
        key = _norm_id(row.get("KEY"))
        if key is None:
            out.append(ImportRow(i, None, [], [FieldError(f"rows[{i}].KEY", "missing submission id")]))
            continue
        # Central keeps a submission's KEY across edits; the version is meta-instanceID.
        version = _norm_id(row.get("meta-instanceID")) or _norm_id(row.get("instanceID")) or key
        data, errors = _to_input(campaign, mapping, row, "-", i)
        data["submission_id"] = version
        submitted = _parse_time(row.get("SubmissionDate"))
        if submitted is not None:
            data["submitted_at"] = submitted
        out.append(ImportRow(i, data, [key] if key != version else [], errors))
    return out, []
