"""What several routes share: query parameters, the CSV request body, and the service's settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from lsg_shared.inputs import SafeText
from lsg_shared.problems import Problem
from lsg_shared.runtime import Runtime
from lsg_training.entrypoints.schemas import OnError
from lsg_training.settings import TrainingSettings

Lang = Annotated[str, Query(pattern="^(lv|ru|en)$", description="Language of headings and labels")]
OnErrorQ = Annotated[
    OnError,
    Query(description="reject (default): any bad row rejects the whole sheet; skip: import the good rows only"),
]
Encoding = Annotated[SafeText | None, Query(max_length=32, description="Only for sheets not in UTF-8")]
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_CSV_TYPES = (
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/csv",
    "application/octet-stream",
    "application/vnd.ms-excel",
    "",
)


async def sheet_body(request: Request) -> bytes:
    """The CSV sheet sent as the body; 415 naming the header when it is something else."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _CSV_TYPES:
        raise Problem(
            415,
            "Unsupported media type",
            f"Send the sheet itself as the body with Content-Type text/csv (got {media!r}); "
            "e.g. curl --data-binary @sheet.csv -H 'Content-Type: text/csv'.",
            type_="unsupported-media-type",
            errors=[{"field": "header:content-type", "message": "expected text/csv", "value": media}],
        )
    return await request.body()


def settings_of(rt: Runtime) -> TrainingSettings:
    settings = rt.settings
    assert isinstance(settings, TrainingSettings)
    return settings
