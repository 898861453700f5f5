"""What the training use cases refuse, in words a client can act on: the HTTP layer turns each into a problem.

Every error names the field it is about (``errors``: ``{"field", "message"[, "value"]}``) and carries a problem
type (``kind``) a client can branch on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TrainingError(Exception):
    """A refused request: ``status`` is the HTTP status it stands for."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    default_kind: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, kind: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.kind = kind or self.default_kind


class NotFound(TrainingError):
    status = 404
    title = "Not found"
    default_kind = "not-found"

    def __init__(self, what: str, ident: object, field: str) -> None:
        super().__init__(
            f"No {what} {ident!s}.", [{"field": field, "message": f"unknown {what}", "value": str(ident)[:200]}]
        )


class Conflict(TrainingError):
    """The request is valid but the state of what it names does not allow it."""

    status = 409
    title = "Conflict"
    default_kind = "conflict"

    def __init__(self, detail: str, field: str, kind: str | None = None) -> None:
        super().__init__(detail, [{"field": field, "message": detail}], kind)


class Invalid(TrainingError):
    """A value the service cannot accept (checked against stored data, so the request model could not)."""

    status = 422
    title = "Invalid request"
    default_kind = "validation-error"

    def __init__(self, detail: str, errors: list[dict[str, Any]], kind: str | None = None) -> None:
        super().__init__(detail, errors, kind)


class UnreadableSheet(Invalid):
    title = "Unreadable sheet"
    default_kind = "unreadable-sheet"


class InvalidRows(Invalid):
    title = "Invalid rows"
    default_kind = "invalid-rows"


class FontMissing(TrainingError):
    status = 503
    title = "Certificate font missing"
    default_kind = "font-missing"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
