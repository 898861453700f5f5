"""Dead letters: a record that cannot be processed goes to ``<topic>.dlq`` with headers saying why.

The original key, value and headers are kept as they were, so an operator can replay the record after a
fix; ``x-lsg-dlq-*`` headers name the reason (a short code), the error, where it came from and how many
attempts were made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lsg_events.topics import dlq_topic

Publish = Callable[..., Awaitable[Any]]

REASON = "x-lsg-dlq-reason"
ERROR = "x-lsg-dlq-error"
CONSUMER = "x-lsg-dlq-consumer"
ORIGINAL_TOPIC = "x-lsg-dlq-original-topic"
ORIGINAL_PARTITION = "x-lsg-dlq-original-partition"
ORIGINAL_OFFSET = "x-lsg-dlq-original-offset"
ATTEMPTS = "x-lsg-dlq-attempts"
FAILED_AT = "x-lsg-dlq-failed-at"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    reason: str
    error: str
    consumer: str
    attempts: int

    def dlq_headers(self) -> dict[str, str]:
        original = {}
        for name, raw in self.headers:
            if name.startswith("x-lsg-dlq-"):
                continue  # a replayed dead letter that failed again gets fresh reasons
            try:
                original[name] = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            except UnicodeDecodeError:
                original[name] = raw.decode("latin-1")
        original.update(
            {
                REASON: self.reason,
                ERROR: self.error[:2000],
                CONSUMER: self.consumer,
                ORIGINAL_TOPIC: self.topic,
                ORIGINAL_PARTITION: str(self.partition),
                ORIGINAL_OFFSET: str(self.offset),
                ATTEMPTS: str(self.attempts),
                FAILED_AT: datetime.now(UTC).isoformat(),
            }
        )
        return original


async def send(publish: Publish, letter: DeadLetter) -> None:
    """Publish a dead letter and wait for the broker's acknowledgement."""
    await publish(
        letter.value if letter.value is not None else b"",
        topic=dlq_topic(letter.topic),
        key=letter.key,
        headers=letter.dlq_headers(),
    )
