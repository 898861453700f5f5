"""CloudEvents 1.0 envelope in Kafka binary content mode.

The record value is the event data as JSON; the attributes travel as ``ce_*`` headers; ``content-type``
names the data's media type; the record key is the entity that must stay ordered (the ``partitionkey``
extension). This is the layout the CloudEvents Kafka protocol binding specifies, so any CloudEvents SDK
reads our records.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from lsg_events.base import EventData

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
SCHEMA_BASE = "https://lsg-events.github.io/schemas"
_REQUIRED = ("id", "source", "specversion", "type")


class PoisonMessage(Exception):
    """A record that can never be processed as it is: wrong headers, unknown type, invalid data.

    Retrying cannot help, so it goes straight to the dead-letter topic with `reason` in its headers.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def dataschema_for(event_type: str) -> str:
    return f"{SCHEMA_BASE}/{event_type}.json"


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """One event: CloudEvents attributes plus validated data."""

    data: EventData
    source: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.data.event_type

    @property
    def topic(self) -> str:
        return self.data.topic

    @property
    def key(self) -> str:
        return self.data.partition_key()

    def headers(self) -> dict[str, str]:
        headers = {
            "ce_specversion": SPECVERSION,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject if self.subject is not None else self.data.subject(),
            "ce_dataschema": dataschema_for(self.type),
            "ce_partitionkey": self.key,
            "content-type": CONTENT_TYPE,
        }
        for name, value in self.extensions.items():
            headers[f"ce_{name}"] = value
        return headers

    def to_kafka(self) -> tuple[bytes, bytes, dict[str, str]]:
        """(key, value, headers) for a Kafka record in binary mode."""
        return self.key.encode(), self.data.model_dump_json().encode(), self.headers()


def decode_headers(raw: Iterable[tuple[str, bytes | None]] | Mapping[str, Any] | None) -> dict[str, str]:
    """Kafka headers (aiokafka's list of pairs, or a mapping) as text; undecodable ones are poison."""
    items = raw.items() if isinstance(raw, Mapping) else (raw or ())
    out: dict[str, str] = {}
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, bytes):
            try:
                out[name] = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PoisonMessage("invalid-header", f"header {name!r} is not UTF-8") from exc
        else:
            out[name] = str(value)
    return out


def _attributes(raw: Iterable[tuple[str, bytes | None]] | Mapping[str, Any] | None) -> dict[str, str]:
    """`decode_headers`, with a fast path for what every Kafka client hands over: a list of (str, bytes).

    The comprehension decodes every header in one pass; anything unusual in it (a None value, a text value,
    bytes that are not UTF-8) falls back to `decode_headers`, which keeps the exact semantics and reasons.
    """
    if isinstance(raw, list | tuple):
        try:
            return {name: value.decode() for name, value in raw}
        except (AttributeError, UnicodeDecodeError, TypeError, ValueError):
            pass
    elif raw is not None and not isinstance(raw, Mapping):
        raw = list(raw)  # a one-shot iterable: the fallback below must see it whole
    return decode_headers(raw)


def parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PoisonMessage("invalid-attribute", f"ce_time {value!r} is not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        raise PoisonMessage("invalid-attribute", f"ce_time {value!r} has no time zone")
    return parsed


# Attributes that are not extensions (``ce_<name>`` headers with another name are extensions).
_NOT_EXTENSIONS = frozenset(f"ce_{name}" for name in (*_REQUIRED, "time", "subject", "dataschema"))
# The header layout `CloudEvent.headers()` writes: when a record has exactly these, its only extension is
# the partition key, and the per-header extension scan can be skipped.
_USUAL_LAYOUT = frozenset({*_NOT_EXTENSIONS, "ce_partitionkey", "content-type"})


def from_kafka(
    value: bytes | None,
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, Any] | None,
    registry: Mapping[str, type[EventData]],
) -> CloudEvent:
    """Decode a binary-mode record into a CloudEvent, or raise PoisonMessage saying exactly why not.

    The checks, in order (the first that fails names the reason): every header is UTF-8, the required
    attributes are there, the spec version, a contract for the type, the content type, a value, the data
    valid against the type's contract (full pydantic validation, parsed from the bytes in one pass), then
    the time attribute.
    """
    attrs = _attributes(headers)
    try:
        event_id = attrs["ce_id"]
        source = attrs["ce_source"]
        specversion = attrs["ce_specversion"]
        event_type = attrs["ce_type"]
    except KeyError:
        missing = [name for name in _REQUIRED if f"ce_{name}" not in attrs]
        raise PoisonMessage(
            "missing-attribute", "missing CloudEvents header(s): " + ", ".join(f"ce_{m}" for m in missing)
        ) from None
    if specversion != SPECVERSION:
        raise PoisonMessage("unsupported-specversion", f"ce_specversion {specversion!r}")
    model = registry.get(event_type)
    if model is None:
        raise PoisonMessage("unknown-type", f"no contract for ce_type {event_type!r}")
    content_type = attrs.get("content-type", CONTENT_TYPE)
    if not content_type.startswith(CONTENT_TYPE):
        raise PoisonMessage("unsupported-content-type", f"content-type {content_type!r}")
    if value is None:
        raise PoisonMessage("empty-value", "the record has no value")
    try:
        data = model.model_validate_json(value)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise PoisonMessage("invalid-data", f"{event_type}: {fields}") from exc
    if len(attrs) == len(_USUAL_LAYOUT) and attrs.keys() == _USUAL_LAYOUT:
        extensions = {"partitionkey": attrs["ce_partitionkey"]}
    else:
        extensions = {
            name[3:]: val for name, val in attrs.items() if name.startswith("ce_") and name not in _NOT_EXTENSIONS
        }
    ce_time = attrs.get("ce_time")
    return CloudEvent(
        data=data,
        source=source,
        id=event_id,
        time=parse_time(ce_time) if ce_time is not None else datetime.now(UTC),
        subject=attrs.get("ce_subject"),
        extensions=extensions,
    )
