"""KoboToolbox JSON and ODK Central CSV exports turned into response inputs.

Each export row becomes the same `ResponseInput` an API client sends, so one set of rules applies.
Identity of a row (STANDARDS.md): Kobo ``meta/instanceID`` (else ``_uuid``), an edit carrying
``meta/deprecatedID`` (and ``meta/rootUuid``); ODK Central ``KEY`` (the submission) with
``meta-instanceID`` (its current version). Rows a reviewer rejected are skipped, not imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lsg_surveys.domain.mappings import ImportMapping, legacy, to_input
from lsg_surveys.domain.model import Campaign, FieldError


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


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # Kobo's _submission_time is UTC without an offset.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def kobo_rows(payload: Any) -> list[Any] | None:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return list(payload["results"])  # the Kobo API's paginated form: {"count", "next", "results"}
    return None


def parse_kobo(
    campaign: Campaign, payload: Any, mapping: ImportMapping | None = None
) -> tuple[list[ImportRow], list[FieldError]]:
    """Rows of a KoboToolbox JSON export (a list of submissions, or the API's {"results": [...]}), read through
    `mapping` (default: the campaign's creation-time mappings with name matching, `mappings.legacy`)."""
    rows = kobo_rows(payload)
    if rows is None:
        return [], [FieldError("body", "expected a JSON array of Kobo submissions or an object with 'results'")]
    mapping = mapping or legacy(campaign.mappings).kobo
    return [kobo_row(campaign, row, i, mapping) for i, row in enumerate(rows)], []


def kobo_row(campaign: Campaign, row: Any, i: int, mapping: ImportMapping | None = None) -> ImportRow:
    """One Kobo submission (an export's row, or the object a Kobo REST service posts) as an import row."""
    mapping = mapping or legacy(campaign.mappings).kobo
    if not isinstance(row, dict):
        return ImportRow(i, None, [], [FieldError(f"rows[{i}]", "expected a JSON object (one submission)")])
    status = row.get("_validation_status")
    if isinstance(status, dict) and status.get("uid") == "validation_status_not_approved":
        return ImportRow(i, None, [], [], skipped="not approved in KoboToolbox")
    version = _norm_id(row.get("meta/instanceID")) or _norm_id(row.get("_uuid"))
    if version is None:
        return ImportRow(i, None, [], [FieldError(f"rows[{i}].meta/instanceID", "missing submission id")])
    data, errors = to_input(campaign, mapping, row, "/", i)
    data["submission_id"] = version
    deprecated = _norm_id(row.get("meta/deprecatedID"))
    if deprecated:
        data["replaces"] = deprecated
    submitted = _parse_time(row.get("_submission_time")) or _parse_time(row.get("end"))
    if submitted is not None:
        data["submitted_at"] = submitted
    candidates = [
        c for c in (deprecated, _norm_id(row.get("meta/rootUuid")), _norm_id(row.get("_uuid"))) if c and c != version
    ]
    return ImportRow(i, data, list(dict.fromkeys(candidates)), errors)


def _csv_rows(text: str) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(text))


def odk_rows(text: str) -> list[dict[str, str]] | None:
    """The rows of an ODK Central CSV export as dicts (None: not a readable CSV)."""
    try:
        return list(_csv_rows(text.lstrip("\ufeff")))
    except csv.Error:
        return None


def parse_odk_csv(
    campaign: Campaign, text: str, mapping: ImportMapping | None = None
) -> tuple[list[ImportRow], list[FieldError]]:
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
    mapping = mapping or legacy(campaign.mappings).odk
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
        data, errors = to_input(campaign, mapping, row, "-", i)
        data["submission_id"] = version
        submitted = _parse_time(row.get("SubmissionDate"))
        if submitted is not None:
            data["submitted_at"] = submitted
        out.append(ImportRow(i, data, [key] if key != version else [], errors))
    return out, []
