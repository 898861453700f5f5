"""Request and response shapes of the reporting API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Literal

import asyncpg
from pydantic import ConfigDict, Field, HttpUrl

from lsg_events.geography import Place
from lsg_reporting.domain.catalogue import Indicator
from lsg_reporting.domain.figures import Cell, persons_of, value_of
from lsg_shared.inputs import RequestModel
from lsg_shared.problems import invalid_field

_AREA = re.compile(r"^(country|municipality|territory|settlement):([A-Za-z0-9._-]{1,32})$")


def as_of_param(value: str | None) -> date | datetime | None:
    """The `as_of` query parameter: a date (yyyy-mm-dd) or an RFC 3339 time (UTC when no offset is given)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        raise invalid_field("as_of", f"{value!r} is not a date (yyyy-mm-dd) or an RFC 3339 time") from None


def area_param(value: str | None) -> tuple[str, str] | None:
    """The `area` query parameter as (level, code)."""
    if not value:
        return None
    m = _AREA.match(value)
    if not m:
        raise invalid_field(
            "area",
            f"{value!r}: expected level:code, e.g. municipality:0001 (levels country, "
            "municipality, territory, settlement)",
        )
    return m.group(1), m.group(2)


class DeliverableIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    deliverable_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9._:-]{1,80}$", description="Your id; repeating a POST with it is a no-op"
    )
    kind: str = Field(description="Deliverable code from the catalogue, e.g. handbook_elders")
    quantity: int = Field(ge=0, le=1_000_000, description="Copies printed (documents and agreements: 1)")
    language: Literal["lv", "ru", "en", "multi"] = "multi"
    recorded_on: date
    evidence_url: HttpUrl | None = None
    place: Place | None = None


def deliverable_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "deliverable_id": row["deliverable_id"],
        "kind": row["kind"],
        "quantity": row["quantity"],
        "language": row["language"],
        "recorded_on": row["recorded_on"].isoformat(),
        "evidence_url": row["evidence_url"],
        "place": row["place"],
        "recorded_by": row["recorded_by"],
        "event_id": row["event_id"],
        "recorded_at": row["created_at"].isoformat(),
    }


def cell_json(indicator: Indicator, cell: Cell, names: dict[tuple[str, str], dict[str, str]]) -> dict[str, Any]:
    value = value_of(indicator, cell.num, cell.den)
    out: dict[str, Any] = {
        "period": cell.period,
        "key": cell.dim_value,
        "parent": cell.parent or None,
        "name": names.get((cell.dim, cell.dim_value)),
        "suppressed": cell.suppressed,
        "value": None if cell.suppressed or value is None else round(value, max(indicator.decimals, 0) + 4),
        "numerator": None if cell.suppressed else cell.num,
        "denominator": None if cell.suppressed or indicator.aggregation == "sum" else cell.den,
    }
    persons = persons_of(indicator, cell)
    if persons is not None:
        out["persons"] = None if cell.suppressed else persons
    return out
