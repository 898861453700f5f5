"""The audit log as CSV, for ``GET /v1/audit?format=csv`` and ``lsg-admin audit export`` alike."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from lsg_shared.audit.model import EXPORT_COLUMNS

CSV_HEADER = EXPORT_COLUMNS


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        text = " ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    # A spreadsheet must not run a user agent (or any other caller-chosen text) as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(items: Iterable[Mapping[str, Any]], header: bool = True) -> Iterable[str]:
    """CSV lines (CRLF), one per item, after the header line unless ``header`` is false."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    for item in items:
        writer.writerow([_cell(item[c]) for c in CSV_HEADER])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if header and buffer.getvalue():
        yield buffer.getvalue()
