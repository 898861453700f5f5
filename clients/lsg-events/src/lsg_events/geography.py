"""One geography model for both countries.

country (LV / RU) -> municipality (LV novads / RU municipal rayon) -> territory (LV pagasts / RU rural
settlement, selskoye poseleniye) -> settlement (village). Each unit has an official code (ATVK in Latvia,
OKTMO in Russia) and names in lv/ru/en. Codes, not names, identify a place: two villages may share a name
in different districts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lsg_events.i18n import LocalizedText

Country = Literal["LV", "RU"]


class AreaLevel(StrEnum):
    COUNTRY = "country"
    MUNICIPALITY = "municipality"
    TERRITORY = "territory"
    SETTLEMENT = "settlement"


class AreaUnit(BaseModel):
    """One administrative unit: its official code and its names."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$", description="Official code")
    name: LocalizedText


class Place(BaseModel):
    """A place at any level of the hierarchy; lower levels require the higher ones."""

    model_config = ConfigDict(frozen=True)

    country: Country
    municipality: AreaUnit | None = None
    territory: AreaUnit | None = None
    settlement: AreaUnit | None = None

    @model_validator(mode="after")
    def _levels_are_contiguous(self) -> Place:
        if self.territory is not None and self.municipality is None:
            raise ValueError("territory given without its municipality")
        if self.settlement is not None and self.territory is None:
            raise ValueError("settlement given without its territory")
        return self

    @property
    def level(self) -> AreaLevel:
        if self.settlement is not None:
            return AreaLevel.SETTLEMENT
        if self.territory is not None:
            return AreaLevel.TERRITORY
        if self.municipality is not None:
            return AreaLevel.MUNICIPALITY
        return AreaLevel.COUNTRY

    def path(self) -> list[tuple[AreaLevel, str]]:
        """(level, code) from the country down to this place's level: the keys of every roll-up it feeds."""
        out: list[tuple[AreaLevel, str]] = [(AreaLevel.COUNTRY, self.country)]
        for level, unit in (
            (AreaLevel.MUNICIPALITY, self.municipality),
            (AreaLevel.TERRITORY, self.territory),
            (AreaLevel.SETTLEMENT, self.settlement),
        ):
            if unit is None:
                break
            out.append((level, unit.code))
        return out
