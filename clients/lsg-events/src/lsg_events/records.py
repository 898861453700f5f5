"""Turn a Kafka record into the right typed event, whatever client read it.

Works with aiokafka's ``ConsumerRecord``, confluent-kafka's ``Message``, FastStream's ``KafkaMessage`` or
plain ``(value, headers)``: the record's ``ce_type`` header selects the model (see ``EVENT_TYPES``).

    from lsg_events.records import decode
    from lsg_events import AlertRaised

    event = decode(record)              # CloudEvent, or raises PoisonMessage with the reason
    if isinstance(event.data, AlertRaised):
        print(event.data.severity, event.data.place.settlement)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from lsg_events.base import EventData
from lsg_events.envelope import CloudEvent, PoisonMessage, from_kafka

E = TypeVar("E", bound=EventData)


def _parts(record: Any) -> tuple[bytes | None, Any]:
    raw = getattr(record, "raw_message", None)  # FastStream's KafkaMessage wraps the client's record
    if raw is not None and not isinstance(raw, tuple):
        record = raw
    value = record.value() if callable(getattr(record, "value", None)) else getattr(record, "value", None)
    headers = record.headers() if callable(getattr(record, "headers", None)) else getattr(record, "headers", None)
    return value, headers


@overload
def decode(record: Any) -> CloudEvent: ...
@overload
def decode(record: Any, expect: type[E]) -> CloudEvent: ...


def decode(
    record: Any, expect: type[EventData] | None = None, registry: Mapping[str, type[EventData]] | None = None
) -> CloudEvent:
    """The record as a validated CloudEvent; `expect` additionally checks the data's type."""
    from lsg_events import EVENT_TYPES

    value, headers = _parts(record)
    event = from_kafka(value, headers, registry or EVENT_TYPES)
    if expect is not None and not isinstance(event.data, expect):
        raise PoisonMessage("unexpected-type", f"expected {expect.event_type}, got {event.type}")
    return event


def try_decode(record: Any) -> tuple[CloudEvent | None, str | None]:
    """(event, None) or (None, reason): for consumers that log and skip what they do not understand."""
    try:
        return decode(record), None
    except PoisonMessage as exc:
        return None, f"{exc.reason}: {exc.detail}"
