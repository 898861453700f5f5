"""Reporting stream: deliverables recorded by staff, and indicator figures for integrators."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

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
