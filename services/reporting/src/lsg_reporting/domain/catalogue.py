"""The indicator catalogue as data: parsed from YAML, validated, and served from PostgreSQL.

An indicator says what it measures (unit, target, milestone, cumulative or periodic), how its contributions
aggregate (sum, ratio, availability) and which events feed it through which generic rule (see
``rules``). Adding an indicator that uses the existing rules needs no code: ops edit the YAML (or point
``LSG_CATALOGUE_PATH`` at their own) and restart; the rows are upserted into the ``indicator`` table.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lsg_events import EVENT_TYPES
from lsg_events.i18n import LocalizedText

Aggregation = Literal["sum", "ratio", "availability"]
Measure = Literal["unit", "percentage", "nominal", "ordinal", "qualitative"]
Keep = Literal["latest", "earliest", "always", "override"]

# IATI 2.03 codelists (IndicatorMeasure, ResultType).
IATI_MEASURE = {"unit": "1", "percentage": "2", "nominal": "3", "ordinal": "4", "qualitative": "5"}
IATI_RESULT_TYPE = {"output": "1", "outcome": "2", "impact": "3"}


class Feed(BaseModel):
    """One event type feeding an indicator through a rule, with the rule's parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: str
    rule: Literal["occurrence", "likert"]
    key: list[str] = Field(min_length=1)
    time: str
    valid_from: str | None = None
    keep: Keep = "latest"
    slots: list[str] = Field(default_factory=lambda: [""])
    where: dict[str, Any] = Field(default_factory=dict)
    num: float = 1
    num_field: str | None = None
    num_if: dict[str, Any] = Field(default_factory=dict)
    min: dict[str, float] = Field(default_factory=dict)
    den: float = 0
    breakdown_field: str | None = None
    tag: str | None = None
    tag_field: str | None = None
    answers: list[str] = Field(default_factory=list)
    stat: Literal["mean", "top2"] = "mean"

    @model_validator(mode="after")
    def _known(self) -> Feed:
        model = EVENT_TYPES.get(self.event)
        if model is None:
            raise ValueError(f"unknown event type {self.event!r}")
        fields = set(model.model_fields)
        for name in [
            *self.key,
            self.time,
            self.valid_from,
            self.num_field,
            self.breakdown_field,
            self.tag_field,
            *self.where,
            *self.num_if,
            *self.min,
        ]:
            if name is not None and name not in fields:
                raise ValueError(f"{self.event} has no field {name!r}")
        if self.rule == "likert" and not self.answers:
            raise ValueError("a likert feed needs `answers` (the answer indicator codes it reads)")
        return self


class Milestone(BaseModel):
    model_config = ConfigDict(frozen=True)
    date: date
    value: float


class Indicator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}\.[A-Z0-9_]+$")
    title: LocalizedText
    group: str
    result_type: Literal["output", "outcome", "impact"] = "output"
    measure: Measure
    unit: str
    baseline: float | None = None
    milestone: Milestone | None = None
    target: float | None = None
    ascending: bool = True
    cumulative: bool
    aggregation: Aggregation
    factor: float = 1
    decimals: int = 0
    persons: Literal["value", "denominator", "none"] = "none"
    deliverable_kinds: list[str] = Field(default_factory=list)
    feeds: list[Feed] = Field(min_length=1)


class Programme(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    iati_identifier: str
    title: LocalizedText
    start: date
    end: date
    timezone: str = "UTC"


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True)

    programme: Programme
    groups: dict[str, LocalizedText]
    indicators: list[Indicator]

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        seen: set[str] = set()
        for ind in self.indicators:
            if ind.code in seen:
                raise ValueError(f"indicator {ind.code} is defined twice")
            if ind.group not in self.groups:
                raise ValueError(f"indicator {ind.code}: unknown group {ind.group!r}")
            seen.add(ind.code)
        return self

    def by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def feeds_by_event(self) -> dict[str, list[tuple[Indicator, Feed]]]:
        out: dict[str, list[tuple[Indicator, Feed]]] = {}
        for ind in self.indicators:
            for feed in ind.feeds:
                out.setdefault(feed.event, []).append((ind, feed))
        return out

    def deliverable_kinds(self) -> set[str]:
        return {k for i in self.indicators for k in i.deliverable_kinds}


def load(path: str | Path | None = None) -> Catalogue:
    """The catalogue at `path`, or the one shipped with the service."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("lsg_reporting.domain").joinpath("indicators.yaml").read_text(encoding="utf-8")
    return Catalogue.model_validate(yaml.safe_load(text))
