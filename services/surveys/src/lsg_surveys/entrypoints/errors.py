"""The application's errors as problem documents (``application/problem+json``), registered by ``create_app``.

Routes raise nothing of their own for these: a use case raises, the handler here answers. Unpaired surrogates
echoed in a problem are made encodable by the shared renderer (``lsg_shared.problems``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lsg_shared.problems import Problem, conflict, invalid, not_found
from lsg_surveys.application.errors import (
    CampaignExists,
    CampaignNotOpen,
    GatheringIdTaken,
    Invalid,
    NotEditable,
    NotFound,
    ResultsNotReady,
    WebhookRefused,
    WrongKind,
)
from lsg_surveys.domain.model import FieldError, TransitionError


def _fields(errors: list[FieldError]) -> list[dict[str, Any]]:
    return [e.as_dict() for e in errors]


def problem(exc: Exception) -> Problem:
    """The problem document an application (or domain) error stands for."""
    if isinstance(exc, NotFound):
        return not_found(exc.what, exc.identifier)
    if isinstance(exc, Invalid):
        return invalid(_fields(exc.errors), exc.detail, **exc.extra)
    if isinstance(exc, CampaignNotOpen):
        return invalid(
            _fields(
                [
                    FieldError(
                        "campaign_id", f"the campaign is {exc.status.value}; it accepts no responses", exc.campaign_id
                    )
                ]
            ),
            f"Campaign {exc.campaign_id!r} is {exc.status.value}: responses are accepted only while it is open.",
        )
    if isinstance(exc, WrongKind):
        return invalid(_fields([FieldError("campaign_id", str(exc), exc.campaign_id)]))
    if isinstance(exc, (CampaignExists, GatheringIdTaken)):
        return conflict(str(exc))
    if isinstance(exc, TransitionError):
        return Problem(
            409,
            "Conflict",
            str(exc),
            type_="invalid-transition",
            errors=[{"field": "status", "message": str(exc), "value": exc.current.value}],
        )
    if isinstance(exc, NotEditable):
        return conflict(str(exc), type_="not-editable")
    if isinstance(exc, WebhookRefused):
        return Problem(401, "Unauthorized", "The webhook secret is missing or wrong.", type_="unauthorized")
    if isinstance(exc, ResultsNotReady):
        return Problem(409, "Not available", str(exc), type_="results-not-ready")
    raise TypeError(f"no problem for {type(exc).__name__}")  # pragma: no cover


APPLICATION_ERRORS = (
    NotFound,
    Invalid,
    CampaignNotOpen,
    WrongKind,
    CampaignExists,
    GatheringIdTaken,
    TransitionError,
    ResultsNotReady,
    NotEditable,
    WebhookRefused,
)


def install(app: FastAPI) -> None:
    """Answer each application error with its problem, through the shared Problem handler."""
    shared: Any = app.exception_handlers[Problem]

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        answer: JSONResponse = await shared(request, problem(exc))
        return answer

    for error in APPLICATION_ERRORS:
        app.add_exception_handler(error, handler)
