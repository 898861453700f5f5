"""What the alerts use cases raise; the entrypoints turn each into its answer (a problem, a dead letter).

``Rejected`` is a partner door's refusal: the HTTP status, a short reason code (the problem type at the HTTP
door, the DLQ reason on the partner topic) and the fields at fault. The others are what staff requests meet.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class Rejected(Exception):
    status: int
    reason: str
    title: str
    errors: list[dict[str, str]] = field(default_factory=list)
    retry_after: float | None = None

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        if not self.errors:
            return self.title
        return "; ".join(f"{e['field']}: {e['message']}" for e in self.errors[:10])


class NotFound(Exception):
    """No such partner, secret, device or alert (404)."""

    def __init__(self, what: str, identifier: object) -> None:
        super().__init__(f"No {what} {str(identifier)!r}.")
        self.what = what
        self.identifier = identifier


class Conflict(Exception):
    """The request is valid but what it names exists already, or its state does not allow it (409)."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Invalid(Exception):
    """A value the request's schema allows but the service's data does not (422), naming each field."""

    def __init__(self, title: str, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.title = title
        self.detail = detail
        self.errors = errors
