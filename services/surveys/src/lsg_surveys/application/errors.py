"""What a use case refuses, in the application's words (``entrypoints/errors.py`` renders each as a problem)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsg_surveys.domain.model import CampaignStatus, FieldError


class NotFound(Exception):
    """No `what` with this identifier (a campaign, a response)."""

    def __init__(self, what: str, identifier: object) -> None:
        super().__init__(f"no {what} {identifier!s}")
        self.what = what
        self.identifier = identifier


class Invalid(Exception):
    """The request breaks a rule; each error names its field. `extra` goes into the problem document."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or ", ".join(e.field for e in errors))
        self.errors = list(errors)
        self.detail = detail
        self.extra = extra


class CampaignNotOpen(Exception):
    """A write to a campaign that is not open (draft or closed)."""

    def __init__(self, campaign_id: str, status: CampaignStatus) -> None:
        super().__init__(f"campaign {campaign_id} is {status.value}: it accepts no responses")
        self.campaign_id = campaign_id
        self.status = status


class WrongKind(Exception):
    """A meeting recorded in an opinion survey (surveys take responses, meetings take gatherings)."""

    def __init__(self, campaign_id: str, message: str) -> None:
        super().__init__(message)
        self.campaign_id = campaign_id


class CampaignExists(Exception):
    """The campaign id is taken."""

    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"Campaign {campaign_id!r} exists already.")
        self.campaign_id = campaign_id


class GatheringIdTaken(Exception):
    """The gathering id belongs to another campaign."""

    def __init__(self, gathering_id: str) -> None:
        super().__init__(f"Gathering id {gathering_id!r} belongs to another campaign.")
        self.gathering_id = gathering_id


class ResultsNotReady(Exception):
    """Results are asked before the survey closed (or of a meeting, which publishes none)."""


class NotEditable(Exception):
    """A change the campaign's state no longer allows (mappings of a closed campaign, a form after opening)."""


class WebhookRefused(Exception):
    """A webhook call without the campaign's secret (or to a campaign that has none)."""


__all__ = [
    "CampaignExists",
    "CampaignNotOpen",
    "GatheringIdTaken",
    "Invalid",
    "NotEditable",
    "NotFound",
    "ResultsNotReady",
    "WebhookRefused",
    "WrongKind",
]
