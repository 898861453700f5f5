"""Reporting stream: deliverables recorded by staff, and indicator figures for integrators."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from lsg_events import topics
from lsg_events.base import EventData
from lsg_events.geography import AreaLevel, Place


class DeliverableRecorded(EventData):
    event_type: ClassVar[str] = "lv.lsg.deliverable.recorded.v1"
    topic: ClassVar[str] = topics.REPORTING
    key_field: ClassVar[str] = "deliverable_id"
    description: ClassVar[str] = "A printed or published deliverable (brochure, handbook, agreement...) was recorded."

    deliverable_id: str
    kind: str = Field(description="Deliverable code, e.g. handbook_elders, brochure_lsg, cooperation_agreement")
    quantity: int = Field(ge=0)
    language: Literal["lv", "ru", "en", "multi"] = "multi"
    recorded_on: date
    evidence_url: str | None = None
    place: Place | None = None


class IndicatorUpdated(EventData):
    event_type: ClassVar[str] = "lv.lsg.indicator.updated.v1"
    topic: ClassVar[str] = topics.INDICATORS
    key_field: ClassVar[str] = "key"
    description: ClassVar[str] = "The current value of one indicator figure (compacted by code|period|area)."

    key: str = Field(description="code|period|area_level:area_code")
    code: str
    period: str = Field(description="'programme', a year 'yyyy', a quarter 'yyyyQn' or a month 'yyyyMM'")
    area_level: AreaLevel
    area_code: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    target: float | None = None
    unit: str
    as_of: datetime


Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
CostCategory = Literal["staff", "office_admin", "travel", "external_expertise", "equipment"]


class ExpenditureRecorded(EventData):
    event_type: ClassVar[str] = "lv.lsg.expenditure.recorded.v1"
    topic: ClassVar[str] = topics.REPORTING
    key_field: ClassVar[str] = "entry_id"
    description: ClassVar[str] = (
        "An expenditure entry was declared (a correction is a new entry naming the one it corrects). "
        "Amounts only: no description, invoice or person."
    )

    entry_id: str
    partner: str = Field(description="Partner code: LEAD (Leningrad region) or LPS (Latvia)")
    category: CostCategory = Field(description="Interreg harmonised cost category")
    work_package: str = Field(description="Work package code, e.g. WP2")
    activity: str | None = Field(None, description="Activity code within the work package, e.g. A2.1")
    spent_on: date
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="Currency of the invoice (ISO 4217)")
    amount: Money = Field(description="Amount in the invoice currency, VAT included")
    rate: Decimal = Field(gt=0, description="EUR per unit of `currency`, as entered with the entry (never fetched)")
    amount_eur: Money = Field(description="Declared amount in EUR (VAT included unless recoverable)")
    vat_eur: Money = Field(description="VAT in EUR")
    vat_recoverable: bool = False
    corrects: str | None = Field(None, description="The entry this one corrects (and supersedes)")
    period_id: str = Field(description="The reporting period the entry is declared in, e.g. P1")


class ExpenditureVerified(EventData):
    event_type: ClassVar[str] = "lv.lsg.expenditure.verified.v1"
    topic: ClassVar[str] = topics.REPORTING
    key_field: ClassVar[str] = "entry_id"
    description: ClassVar[str] = "First-level control verified an expenditure entry: its eligible and ineligible parts."

    entry_id: str
    eligible_eur: Money
    ineligible_eur: Money
    verified_on: date


class ReportSubmitted(EventData):
    event_type: ClassVar[str] = "lv.lsg.report.submitted.v1"
    topic: ClassVar[str] = topics.REPORTING
    key_field: ClassVar[str] = "period_id"
    description: ClassVar[str] = "A period report was submitted for verification."

    period_id: str
    period_start: date
    period_end: date
    submitted_at: datetime


class ReportApproved(EventData):
    event_type: ClassVar[str] = "lv.lsg.report.approved.v1"
    topic: ClassVar[str] = topics.REPORTING
    key_field: ClassVar[str] = "period_id"
    description: ClassVar[str] = "A period report was approved: the period is locked, its report frozen."

    period_id: str
    period_start: date
    period_end: date
    approved_at: datetime
    declared_eur: Money
    eligible_eur: Money
    snapshot_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the frozen report (JSON)")
