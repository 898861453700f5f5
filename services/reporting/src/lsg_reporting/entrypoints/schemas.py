"""Request and response shapes of the reporting API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import ConfigDict, Field, HttpUrl, model_validator

from lsg_events.geography import Place
from lsg_reporting.domain.catalogue import Indicator
from lsg_reporting.domain.figures import Cell, persons_of, value_of
from lsg_reporting.domain.finance import BudgetLine
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


# ---- money and period reports (issue 27) ---------------------------------------------------------------------
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]


class Trilingual(RequestModel):
    model_config = ConfigDict(extra="forbid")

    lv: str = Field(max_length=4000)
    ru: str = Field(max_length=4000)
    en: str = Field(max_length=4000)


class BudgetLineIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    partner: str = Field(max_length=20, description="LEAD or LPS")
    category: str = Field(max_length=40, description="staff | office_admin | travel | external_expertise | equipment")
    work_package: str = Field(max_length=20, description="WP1..WP4")
    amount: Money = Field(ge=0)


class BudgetVersionIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why the budget is (re)allocated")
    lines: list[BudgetLineIn] = Field(min_length=1, max_length=500)


class ExpenditureIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    entry_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9._:-]{1,80}$", description="Your id; repeating a POST with it is a no-op"
    )
    partner: str = Field(max_length=20)
    category: str = Field(max_length=40)
    work_package: str = Field(max_length=20)
    activity: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,20}$")
    spent_on: date
    amount: Money = Field(gt=0, description="Invoice amount in `currency`, VAT included")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    rate: Decimal = Field(
        Decimal(1), gt=0, max_digits=18, decimal_places=8, description="EUR per unit of currency (entered, not fetched)"
    )
    vat: Money = Field(Decimal("0.00"), ge=0)
    vat_recoverable: bool = False
    invoice_ref: str = Field(min_length=1, max_length=120)
    description: Trilingual
    evidence_ref: str = Field(min_length=1, max_length=500, description="Where the evidence document is filed")


class VerificationIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    eligible_eur: Money = Field(ge=0)
    ineligible_eur: Money = Field(ge=0)
    note: str | None = Field(None, max_length=2000, description="Why a part is ineligible")


class NarrativeIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    work_packages: dict[str, Trilingual] = Field(description="Work package code -> narrative in lv/ru/en")


def budget_line_of(line: BudgetLineIn) -> BudgetLine:
    return BudgetLine(line.partner, line.category, line.work_package, line.amount)


def entry_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "entry_id": row["entry_id"],
        "partner": row["partner"],
        "category": row["category"],
        "work_package": row["work_package"],
        "activity": row["activity"],
        "spent_on": row["spent_on"].isoformat(),
        "currency": row["currency"],
        "amount": str(row["amount"]),
        "rate": str(row["rate"].normalize()),
        "vat": str(row["vat"]),
        "vat_recoverable": row["vat_recoverable"],
        "amount_eur": str(row["amount_eur"]),
        "vat_eur": str(row["vat_eur"]),
        "invoice_ref": row["invoice_ref"],
        "description": row["description"],
        "evidence_ref": row["evidence_ref"],
        "corrects": row["corrects"],
        "period_id": row["period_id"],
        "recorded_by": row["recorded_by"],
        "recorded_at": row["recorded_at"].isoformat(),
        "verification": None
        if row["eligible_eur"] is None
        else {
            "eligible_eur": str(row["eligible_eur"]),
            "ineligible_eur": str(row["ineligible_eur"]),
            "note": row["verification_note"],
            "verified_by": row["verified_by"],
            "verified_at": row["verified_at"].isoformat(),
        },
    }


SubjectToken = Annotated[
    str, Field(pattern=r"^ps_[0-9a-f]{64}$", description="A subject token (lsg_shared.privacy): ps_ + 64 hex digits")
]
Login = Annotated[str, Field(min_length=1, max_length=200)]


class PrivacyRequestIn(RequestModel):
    """Whose data: subject tokens (``lsg_shared.privacy.subject_tokens``, as ``lsg-admin person`` makes them; here
    the login token is the one that can match) and or this service's local ids of the person: their logins."""

    model_config = ConfigDict(extra="forbid")

    subject_tokens: list[SubjectToken] = Field(default_factory=list, max_length=50)
    local_ids: list[Login] = Field(default_factory=list, max_length=100, description="Logins")

    @model_validator(mode="after")
    def _someone(self) -> PrivacyRequestIn:
        if not self.subject_tokens and not self.local_ids:
            raise ValueError("give subject_tokens or local_ids")
        return self


class PrivacyErasureIn(PrivacyRequestIn):
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
