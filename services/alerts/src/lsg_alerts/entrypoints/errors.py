"""The application's errors as problem documents (``application/problem+json``), registered by ``create_app``.

Routes raise nothing of their own for these: a use case raises, the handler here answers through the shared
Problem handler. A partner door's refusal (``Rejected``) is answered by the door's route, which also tells the
audit log whether the partner was verified.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lsg_alerts.application.errors import Conflict, Invalid, NotFound
from lsg_shared.problems import Problem, conflict, not_found


def problem(exc: Exception) -> Problem:
    """The problem document an application error stands for."""
    if isinstance(exc, NotFound):
        return not_found(exc.what, exc.identifier)
    if isinstance(exc, Conflict):
        return conflict(exc.detail, field=exc.field)
    if isinstance(exc, Invalid):
        return Problem(422, exc.title, exc.detail, type_="validation-error", errors=list(exc.errors))
    raise TypeError(f"no problem for {type(exc).__name__}")  # pragma: no cover


APPLICATION_ERRORS = (NotFound, Conflict, Invalid)


def install(app: FastAPI) -> None:
    """Answer each application error with its problem, through the shared Problem handler."""
    shared: Any = app.exception_handlers[Problem]

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        answer: JSONResponse = await shared(request, problem(exc))
        return answer

    for error in APPLICATION_ERRORS:
        app.add_exception_handler(error, handler)
