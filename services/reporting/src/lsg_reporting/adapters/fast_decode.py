"""The consumer's fast path: decode only what the aggregator reads, with msgspec, from a record's bytes.

Validating a whole event through its pydantic contract (`lsg_events.envelope.from_kafka`) builds a model for
every nested object (the place with its names in three languages, every answer) and cost ~12 us of the
~25 us of Python the consumer spent on a record. The aggregator reads a few fields of each event: the ones
its feeds name (times, keys, conditions, counts, answers), the place, role, gender and wave. For each event
type the catalogue feeds, this module derives from the pydantic contract a msgspec Struct of exactly those
fields, with the same types and constraints (`ge`, `min_length`, `pattern`, literals, enums; nested models
whole), and, for every other required field, a placeholder that only checks it is present. Decoding into
it takes ~2 us and skips what no feed reads.

What the fast path accepts is what the contract accepts, as far as the aggregator's fields go: msgspec is
strict where pydantic is lax (a number as a string), so whatever the fast path cannot decode, for any reason,
goes through `from_kafka` as before, which either accepts it (pydantic's coercions) or dead-letters it with
the contract's own reason. The fields no feed reads are not validated on this path (their producers
validate them against the same contract before they write them); a contract the converter does not know how
to mirror (a validator of its own, an alias, a type it has no rule for) gets no fast path at all.

The result quacks like a CloudEvent for the consumer's batch path (`FastEvent`: `source`, `id`, `type`,
`time`, `data` whose attributes and ``__dict__`` hold the decoded fields, as a pydantic model's do).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, cast

import annotated_types
import msgspec
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lsg_events.base import EventData
from lsg_events.envelope import CONTENT_TYPE, SPECVERSION, CloudEvent
from lsg_events.geography import Place

log = logging.getLogger(__name__)

# Fields the extractor reads from any event that has them (besides those its feeds name).
COMMON_FIELDS = ("place", "role", "gender", "wave")
_MISSING = object()


class Unsupported(Exception):
    """A contract this module cannot mirror faithfully: that event type keeps the full decoder."""


class FastEvent:
    """A decoded event as the reporting consumer's batch path uses it (a CloudEvent's attributes)."""

    __slots__ = ("data", "id", "source", "time")

    def __init__(self, data: Any, source: str, id: str, time: dt.datetime) -> None:
        self.data = data
        self.source = source
        self.id = id
        self.time = time

    @property
    def type(self) -> str:
        return str(self.data.event_type)

    @property
    def subject(self) -> str | None:
        return None

    @property
    def extensions(self) -> Mapping[str, str]:
        return {}


# ---- from pydantic annotations to msgspec types ----------------------------------------------------------
def _meta(metadata: Iterable[Any]) -> msgspec.Meta | None:
    """The constraints pydantic keeps in a field's metadata, as msgspec's (Unsupported for any other)."""
    kwargs: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            kwargs["ge"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            kwargs["gt"] = item.gt
        elif isinstance(item, annotated_types.Le):
            kwargs["le"] = item.le
        elif isinstance(item, annotated_types.Lt):
            kwargs["lt"] = item.lt
        elif isinstance(item, annotated_types.MinLen):
            kwargs["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            kwargs["max_length"] = item.max_length
        elif type(item).__name__ == "_PydanticGeneralMetadata":
            for name, value in vars(item).items():
                if name != "pattern":
                    raise Unsupported(f"constraint {name}")
                kwargs["pattern"] = value
        else:
            raise Unsupported(f"metadata {item!r}")
    return msgspec.Meta(**kwargs) if kwargs else None


def _has_validators(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    return bool(
        decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
    )


class _Converter:
    def __init__(self) -> None:
        self.structs: dict[type[BaseModel], Any] = {}

    def type_of(self, tp: Any) -> Any:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            base, *metadata = typing.get_args(tp)
            meta = _meta(m for m in metadata if not isinstance(m, FieldInfo))
            if any(isinstance(m, FieldInfo) for m in metadata):
                raise Unsupported("Field() inside Annotated")
            inner = self.type_of(base)
            return typing.Annotated[inner, meta] if meta is not None else inner
        if origin in (typing.Union, types.UnionType):
            args = tuple(self.type_of(a) for a in typing.get_args(tp))
            return typing.Union[args]  # noqa: UP007 (built from a tuple)
        if origin is Literal:
            return tp
        if origin is list:
            (item,) = typing.get_args(tp)
            return list[self.type_of(item)]  # type: ignore[misc]
        if origin is dict:
            key, value = typing.get_args(tp)
            if key is not str:
                raise Unsupported(f"dict keys {key!r}")
            return dict[str, self.type_of(value)]  # type: ignore[misc]
        if origin is not None:
            raise Unsupported(f"type {tp!r}")
        if tp is type(None) or tp in (str, int, float, bool, dt.date, dt.datetime):
            return tp
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return tp
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self.struct(tp, None)
        raise Unsupported(f"type {tp!r}")

    def field(self, info: FieldInfo) -> tuple[Any, Any]:
        """(msgspec type, default or _MISSING) of one pydantic field."""
        if info.alias is not None or info.validation_alias is not None:
            raise Unsupported("alias")
        tp = self.type_of(info.annotation)
        meta = _meta(info.metadata)
        if meta is not None:
            tp = typing.Annotated[tp, meta]
        if info.is_required():
            return tp, _MISSING
        if info.default_factory is not None:
            return tp, msgspec.field(default_factory=info.default_factory)  # type: ignore[arg-type]
        return tp, info.default

    def struct(self, model: type[BaseModel], used: set[str] | None) -> Any:
        """A Struct mirroring `model`: every field when `used` is None, else the used ones typed and the
        other required ones as unparsed placeholders (present, not validated)."""
        if used is None and model in self.structs:
            return self.structs[model]
        if _has_validators(model) and model is not Place:  # Place's own check: `_place_ok`
            raise Unsupported(f"{model.__name__} has validators")
        if model.model_config.get("extra") == "forbid":
            raise Unsupported(f"{model.__name__} forbids extra fields")
        required: list[tuple[str, Any]] = []
        optional: list[tuple[str, Any, Any]] = []
        for name, info in model.model_fields.items():
            if used is not None and name not in used:
                if info.is_required():
                    required.append((name, msgspec.Raw))
                continue
            tp, default = self.field(info)
            if default is _MISSING:
                required.append((name, tp))
            else:
                optional.append((name, tp, default))
        struct = msgspec.defstruct(f"Fast{model.__name__}", [*required, *optional], frozen=True)
        if used is None:
            self.structs[model] = struct
        return struct


def _place_ok(place: Any) -> bool:
    """`Place`'s own validator: lower levels require the higher ones."""
    if place.territory is not None and place.municipality is None:
        return False
    return not (place.settlement is not None and place.territory is None)


class _Decoded:
    """Holds a fast-decoded event's fields in ``__dict__`` (subclassed per type for `event_type`)."""

    event_type: str


# ---- the decoder ------------------------------------------------------------------------------------------
class FastDecoder:
    """Decodes the records of the event types the extractor feeds from; `None` means "use the full path"."""

    def __init__(self, registry: Mapping[str, type[EventData]], used_fields: Mapping[str, Iterable[str]]) -> None:
        self._types: dict[str, tuple[msgspec.json.Decoder[Any], type[_Decoded], bool]] = {}
        converter = _Converter()
        for event_type, fields in used_fields.items():
            model = registry.get(event_type)
            if model is None:
                continue
            used = set(fields) | {f for f in COMMON_FIELDS if f in model.model_fields}
            try:
                struct = converter.struct(model, used)
                decoder = msgspec.json.Decoder(struct)
            except (Unsupported, TypeError) as exc:
                log.info("%s: no fast path (%s); the full contract decodes it", event_type, exc)
                continue
            holder = type(f"Fast_{model.__name__}", (_Decoded,), {"event_type": event_type, "topic": model.topic})
            self._types[event_type] = (decoder, holder, "place" in used)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._types)

    def decode(self, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]) -> CloudEvent | None:
        """The event, or None when this path does not take the record (the full decoder decides then)."""
        try:
            attrs = {name: raw.decode() for name, raw in headers}  # type: ignore[union-attr]
        except (AttributeError, UnicodeDecodeError, TypeError, ValueError):
            return None
        known = self._types.get(attrs.get("ce_type", ""))
        if (
            known is None
            or value is None
            or attrs.get("ce_specversion") != SPECVERSION
            or not attrs.get("content-type", CONTENT_TYPE).startswith(CONTENT_TYPE)
        ):
            return None
        source, event_id, ce_time = attrs.get("ce_source"), attrs.get("ce_id"), attrs.get("ce_time")
        if source is None or event_id is None or ce_time is None:
            return None
        decoder, holder, has_place = known
        try:
            struct = decoder.decode(value)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        data = holder.__new__(holder)
        data.__dict__ = msgspec.structs.asdict(struct)
        if has_place:
            place = data.__dict__["place"]
            if place is not None and not _place_ok(place):
                return None
        try:
            time = dt.datetime.fromisoformat(ce_time)  # RFC 3339, "Z" included (Python 3.11)
        except ValueError:
            return None
        if time.tzinfo is None:
            return None  # the full decoder names the reason
        return cast(CloudEvent, FastEvent(data, source, event_id, time))


def used_fields(plans: Mapping[str, Iterable[Any]]) -> dict[str, set[str]]:
    """The fields each event type's feeds read (an Extractor's compiled plans: `_Plan` attributes)."""
    out: dict[str, set[str]] = {}
    for event_type, items in plans.items():
        fields = out.setdefault(event_type, set())
        for plan in items:
            fields.update(plan.key)
            fields.add(plan.time)
            for name in (plan.valid_from, plan.num_field, plan.breakdown_field, plan.tag_field):
                if name is not None:
                    fields.add(name)
            fields.update(plan.where)
            fields.update(plan.num_if)
            fields.update(name for name, _ in plan.min)
            if plan.likert:
                fields.add("answers")
    return out


def for_extractor(
    registry: Mapping[str, type[EventData]], extractor: Any, topics: Iterable[str] | None = None
) -> FastDecoder:
    """The fast decoder for what `extractor` (a `lsg_reporting.domain.rules.Extractor`) reads, for every
    event type of `topics` (those no feed reads still give their place to the area names)."""
    plans: Mapping[str, Iterable[Any]] = extractor._plans
    fields = used_fields(plans)
    if topics is not None:
        wanted = set(topics)
        for event_type, model in registry.items():
            if model.topic in wanted:
                fields.setdefault(event_type, set())
    return FastDecoder(registry, fields)


Decode = Callable[[bytes | None, Sequence[tuple[str, bytes | None]]], CloudEvent | None]
