"""Trilingual text: every name and label the suite stores or serves comes in Latvian, Russian and English."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["lv", "ru", "en"]
LANGUAGES: tuple[Language, ...] = ("lv", "ru", "en")


class LocalizedText(BaseModel):
    """A label in the three languages of the programme. All three are required so no screen shows a gap."""

    model_config = ConfigDict(frozen=True)

    lv: str = Field(min_length=1, max_length=500, description="Latvian")
    ru: str = Field(min_length=1, max_length=500, description="Russian (Cyrillic)")
    en: str = Field(min_length=1, max_length=500, description="English")

    def get(self, language: str, default: Language = "en") -> str:
        """The text in `language`, falling back to `default` for an unknown language code."""
        value = getattr(self, language, None) if language in LANGUAGES else None
        return str(value) if value is not None else str(getattr(self, default))
