"""What the reporting use cases refuse: no such thing, a state that forbids the change, a bad value.

Entry points turn them into answers (the HTTP app into problem documents: 404, 409, 422 naming the field).
"""

from __future__ import annotations


class ReportingError(Exception):
    """Base of the errors a caller can act on."""


class NotFound(ReportingError):
    def __init__(self, what: str, identifier: object) -> None:
        super().__init__(f"no {what} {identifier!r}")
        self.what = what
        self.identifier = identifier


class Conflict(ReportingError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidValue(ReportingError):
    """A value the rules refuse, naming the field it came in."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
