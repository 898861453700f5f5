"""From an event to its contributions ("facts") to the indicators it feeds.

A fact is one event's contribution to one indicator: a numerator and a denominator, the event time that
places it in a period, the area path, and the dimensions (role, gender, wave, tag). Facts are never
updated: a later event with the same correction key (`corr_key`) supersedes an earlier one when figures
are computed, by `priority` (derived from the fact's `valid_from` and the feed's `keep` policy), ties broken
by the event identity so that the choice does not depend on arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from lsg_events.envelope import CloudEvent, PoisonMessage
from lsg_events.geography import Place
from lsg_reporting.domain.catalogue import Catalogue, Feed, Indicator

# "override" facts (a CAP Cancel) win over any ordinary fact of the same key, in any arrival order.
OVERRIDE_PRIORITY = 1e12

FACT_COLUMNS = (
    "source",
    "event_id",
    "event_type",
    "code",
    "corr_key",
    "priority",
    "event_time",
    "valid_from",
    "country",
    "municipality",
    "territory",
    "settlement",
    "role",
    "gender",
    "wave",
    "tag",
    "num",
    "den",
)


class Fact(NamedTuple):
    """A tuple, not a dataclass: cheap to build in the hot path and a COPY record as it is."""

    source: str
    event_id: str
    event_type: str
    code: str
    corr_key: str
    priority: float
    event_time: datetime
    valid_from: datetime
    country: str | None
    municipality: str | None
    territory: str | None
    settlement: str | None
    role: str | None
    gender: str | None
    wave: int | None
    tag: str | None
    num: float
    den: float

    def row(self) -> tuple[Any, ...]:
        return tuple(self)


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise PoisonMessage("invalid-data", f"expected a date or a time, got {value!r}")


_NO_VALUE = object()


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    # Enum members: `_value_` is the plain attribute behind the (much slower) `value` property.
    raw = getattr(value, "_value_", _NO_VALUE)
    if raw is not _NO_VALUE:
        return str(raw)
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)


def _matches(data: dict[str, Any], conditions: dict[str, Any]) -> bool:
    for name, expected in conditions.items():
        raw: Any = data.get(name)
        actual = getattr(raw, "_value_", _NO_VALUE)  # an enum member's value, as in `_text`
        if actual is _NO_VALUE:
            actual = raw.value if hasattr(raw, "value") else raw
        if isinstance(expected, list):
            if actual not in expected:
                return False
        elif actual != expected:
            return False
    return True


def _area(place: Place | None) -> tuple[str | None, str | None, str | None, str | None]:
    if place is None:
        return (None, None, None, None)
    return (
        place.country,
        place.municipality.code if place.municipality else None,
        place.territory.code if place.territory else None,
        place.settlement.code if place.settlement else None,
    )


def _priority(keep: str, valid_from: datetime) -> float:
    epoch = valid_from.timestamp()
    if keep == "earliest":
        return -epoch
    if keep == "override":
        return OVERRIDE_PRIORITY + epoch
    return epoch


class _Plan:
    """One (indicator, feed) pair compiled for the hot path: the feed's parameters as plain attributes."""

    __slots__ = (
        "breakdown_field",
        "code",
        "den",
        "feed",
        "keep",
        "key",
        "likert",
        "min",
        "num",
        "num_field",
        "num_if",
        "slot_suffixes",
        "tag",
        "tag_field",
        "time",
        "valid_from",
        "where",
    )

    def __init__(self, indicator: Indicator, feed: Feed) -> None:
        self.feed = feed
        self.code = indicator.code
        self.likert = feed.rule == "likert"
        self.key = tuple(feed.key)
        self.time = feed.time
        self.valid_from = feed.valid_from
        self.keep = feed.keep
        self.slot_suffixes = tuple(f"#{slot}" if slot else "" for slot in feed.slots)
        self.where = feed.where
        self.num_field = feed.num_field
        self.num_if = feed.num_if
        self.min = tuple(feed.min.items())
        self.num = float(feed.num)
        self.den = float(feed.den)
        self.breakdown_field = feed.breakdown_field
        self.tag = feed.tag
        self.tag_field = feed.tag_field


_new_fact = tuple.__new__  # Fact((...)) without NamedTuple's Python-level __new__: the hot path builds many


class Extractor:
    """Turns events into facts following the catalogue's feeds."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._feeds = catalogue.feeds_by_event()
        self._plans = {event: tuple(_Plan(i, f) for i, f in pairs) for event, pairs in self._feeds.items()}

    def handles(self, event_type: str) -> bool:
        return event_type in self._feeds

    def facts(self, events: Iterable[CloudEvent]) -> list[Fact]:
        out: list[Fact] = []
        for event in events:
            self.extend(out, event)
        return out

    def extend(self, out: list[Any], event: CloudEvent, *, epoch: bool = False) -> None:
        """Append `event`'s facts to `out` (raises PoisonMessage for what the rules reject).

        With `epoch`, the facts are plain tuples whose `event_time` and `valid_from` are POSIX timestamps
        (float seconds, exact to the microsecond): the cheapest form to COPY.
        """
        row: type[tuple[Any, ...]] = tuple if epoch else Fact
        plans = self._plans.get(event.data.event_type)
        if not plans:
            return
        # Field values straight from the model's __dict__: attribute access on a pydantic model is
        # several times slower, and this loop is the consumer's hot path.
        data = event.data.__dict__
        place = data.get("place")
        if place is None:
            area: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)
        else:
            area = _area(place)
        role = _text(data.get("role"))
        gender = _text(data.get("gender"))
        wave = data.get("wave")
        # Per event: times and priorities shared by its feeds (a response feeds five indicators).
        times: dict[str | None, datetime] = {}
        priorities: dict[tuple[str, str | None], float] = {}
        stamps: dict[str | None, float] = {}
        source, event_id, event_type = event.source, event.id, event.data.event_type
        country, municipality, territory, settlement = area
        for plan in plans:
            if plan.where and not _matches(data, plan.where):
                continue
            event_time = times.get(plan.time)
            if event_time is None:
                event_time = times[plan.time] = as_datetime(data[plan.time])
            if plan.valid_from is None:
                valid_from = event.time
            else:
                valid_from = times.get(plan.valid_from)  # type: ignore[assignment]
                if valid_from is None:
                    valid_from = times[plan.valid_from] = as_datetime(data[plan.valid_from])
            # Keyed by names, not by the datetime: hashing an aware datetime asks its tzinfo for the offset.
            priority = priorities.get((plan.keep, plan.valid_from))
            if priority is None:
                priority = priorities[(plan.keep, plan.valid_from)] = _priority(plan.keep, valid_from)
            key = plan.key
            base_key = _text(data[key[0]]) or "" if len(key) == 1 else "|".join(_text(data[k]) or "" for k in key)
            tag = plan.tag if plan.tag is not None else (_text(data[plan.tag_field]) if plan.tag_field else None)
            at: Any = event_time
            since: Any = valid_from
            if epoch:
                at = stamps.get(plan.time)
                if at is None:
                    at = stamps[plan.time] = event_time.timestamp()
                since = stamps.get(plan.valid_from)
                if since is None:
                    since = stamps[plan.valid_from] = valid_from.timestamp()
            # Each fact built as one flat tuple in FACT_COLUMNS order: splicing shared head and tail tuples
            # into it (`(*start, key, ..., *rest, num, den)`) cost more than the fields themselves.
            code = plan.code
            if plan.likert:
                num, den = _likert(data, plan.feed)
                out.append(
                    _new_fact(
                        row,
                        (
                            source,
                            event_id,
                            event_type,
                            code,
                            base_key,
                            priority,
                            at,
                            since,
                            country,
                            municipality,
                            territory,
                            settlement,
                            role,
                            gender,
                            wave,
                            tag,
                            num,
                            den,
                        ),
                    )
                )
                continue
            if plan.num_field is not None:
                num = float(data[plan.num_field])
            elif plan.num_if or plan.min:
                ok = _matches(data, plan.num_if) and all(float(data[name]) >= low for name, low in plan.min)
                num = 1.0 if ok else 0.0
            else:
                num = plan.num
            cells = data.get(plan.breakdown_field) if plan.breakdown_field else None
            den = plan.den
            for suffix in plan.slot_suffixes:
                slot_key = base_key + suffix
                if cells:
                    start = (source, event_id, event_type, code)
                    rest = (at, since, *area, role, gender, wave, tag)
                    out.extend(_split(row, start, slot_key, priority, rest, num, cells))
                else:
                    out.append(
                        _new_fact(
                            row,
                            (
                                source,
                                event_id,
                                event_type,
                                code,
                                slot_key,
                                priority,
                                at,
                                since,
                                country,
                                municipality,
                                territory,
                                settlement,
                                role,
                                gender,
                                wave,
                                tag,
                                num,
                                den,
                            ),
                        )
                    )


def _split(
    row_type: type[tuple[Any, ...]],
    start: tuple[Any, ...],
    key: str,
    priority: float,
    rest: tuple[Any, ...],
    total: float,
    cells: Sequence[Any],
) -> list[tuple[Any, ...]]:
    """A participant count split by its breakdown cells; what the cells do not cover stays undisclosed.

    A cell of another country than the place's (visitors from Russia on the study tour in Latvia) counts
    for that country only: its municipality and below are unknown.
    """
    event_time, valid_from, country, municipality, territory, settlement, _role, _gender, wave, tag = rest

    def make(num: float, role: str | None, gender: str | None, area: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
        where = area or (country, municipality, territory, settlement)
        row = (*start, key, priority, event_time, valid_from, *where, role, gender, wave, tag, float(num), 0.0)
        return _new_fact(row_type, row)

    out: list[tuple[Any, ...]] = []
    covered = 0.0
    for cell in cells:
        if cell.count <= 0:
            continue
        covered += cell.count
        other = cell.country is not None and cell.country != country
        area = (cell.country, None, None, None) if other else None
        out.append(make(cell.count, _text(cell.role), _text(cell.gender), area))
    if total > covered:
        out.append(make(total - covered, None, None))
    if not out:
        out.append(_new_fact(row_type, (*start, key, priority, *rest, 0.0, 0.0)))
    return out


def _likert(data: dict[str, Any], feed: Feed) -> tuple[float, float]:
    """Sum and count (mean) or top-2-box count and count of the answers feeding this indicator.

    Always yields a fact, possibly 0/0, so that a correction that drops an answer supersedes the old one.
    """
    num = den = 0.0
    for answer in data.get("answers", ()):
        if answer.indicator not in feed.answers or answer.value is None:
            continue
        if not 1 <= answer.value <= 5:
            raise PoisonMessage(
                "invalid-answer", f"answer {answer.question_id!r}: Likert value {answer.value} is outside 1-5"
            )
        den += 1
        num += answer.value if feed.stat == "mean" else (1 if answer.value >= 4 else 0)
    return num, den
