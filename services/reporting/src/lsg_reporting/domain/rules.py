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


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return str(value)


def _matches(data: dict[str, Any], conditions: dict[str, Any]) -> bool:
    for name, expected in conditions.items():
        raw: Any = data.get(name)
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


def _priority(feed: Feed, valid_from: datetime) -> float:
    epoch = valid_from.timestamp()
    if feed.keep == "earliest":
        return -epoch
    if feed.keep == "override":
        return OVERRIDE_PRIORITY + epoch
    return epoch


class Extractor:
    """Turns events into facts following the catalogue's feeds."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._feeds = catalogue.feeds_by_event()

    def handles(self, event_type: str) -> bool:
        return event_type in self._feeds

    def facts(self, events: Iterable[CloudEvent]) -> list[Fact]:
        out: list[Fact] = []
        feeds = self._feeds
        for event in events:
            pairs = feeds.get(event.type)
            if not pairs:
                continue
            # Field values straight from the model's __dict__: attribute access on a pydantic model is
            # several times slower, and this loop is the consumer's hot path.
            data = event.data.__dict__
            common = (
                _area(data.get("place")),
                _text(data.get("role")),
                _text(data.get("gender")),
                data.get("wave"),
            )
            for indicator, feed in pairs:
                out.extend(self._facts_of(event, data, common, indicator, feed))
        return out

    def _facts_of(
        self, event: CloudEvent, data: dict[str, Any], common: tuple[Any, ...], indicator: Indicator, feed: Feed
    ) -> Iterable[Fact]:
        if feed.where and not _matches(data, feed.where):
            return ()
        event_time = as_datetime(data[feed.time])
        valid_from = as_datetime(data[feed.valid_from]) if feed.valid_from else event.time
        priority = _priority(feed, valid_from)
        key = feed.key
        base_key = _text(data[key[0]]) or "" if len(key) == 1 else "|".join(_text(data[k]) or "" for k in key)
        (country, municipality, territory, settlement), role, gender, wave = common
        tag = feed.tag if feed.tag is not None else (_text(data[feed.tag_field]) if feed.tag_field else None)
        code = indicator.code

        def fact(key: str, num: float, den: float, **over: Any) -> Fact:
            if over:
                return Fact(
                    event.source,
                    event.id,
                    event.type,
                    code,
                    key,
                    priority,
                    event_time,
                    valid_from,
                    over.get("country", country),
                    over.get("municipality", municipality),
                    over.get("territory", territory),
                    over.get("settlement", settlement),
                    over.get("role", role),
                    over.get("gender", gender),
                    wave,
                    tag,
                    float(num),
                    float(den),
                )
            return Fact(
                event.source,
                event.id,
                event.type,
                code,
                key,
                priority,
                event_time,
                valid_from,
                country,
                municipality,
                territory,
                settlement,
                role,
                gender,
                wave,
                tag,
                float(num),
                float(den),
            )

        if feed.rule == "likert":
            num, den = _likert(data, feed)
            return (fact(base_key, num, den),)

        if feed.num_field is not None:
            num = float(data[feed.num_field])
        elif feed.num_if or feed.min:
            ok = _matches(data, feed.num_if) and all(float(data[name]) >= minimum for name, minimum in feed.min.items())
            num = 1.0 if ok else 0.0
        else:
            num = feed.num
        out: list[Fact] = []
        for slot in feed.slots:
            slot_key = f"{base_key}#{slot}" if slot else base_key
            cells = data.get(feed.breakdown_field) if feed.breakdown_field else None
            if cells:
                out.extend(_split(fact, slot_key, num, cells, country))
            else:
                out.append(fact(slot_key, num, feed.den))
        return out


def _split(make: Any, key: str, total: float, cells: Sequence[Any], country: str | None) -> list[Fact]:
    """A participant count split by its breakdown cells; what the cells do not cover stays undisclosed.

    A cell of another country than the place's (visitors from Russia on the study tour in Latvia) counts
    for that country only: its municipality and below are unknown.
    """
    out: list[Fact] = []
    covered = 0.0
    for cell in cells:
        if cell.count <= 0:
            continue
        covered += cell.count
        over: dict[str, Any] = {"role": _text(cell.role), "gender": _text(cell.gender)}
        if cell.country is not None and cell.country != country:
            over.update(country=cell.country, municipality=None, territory=None, settlement=None)
        out.append(make(key, cell.count, 0, **over))
    if total > covered:
        out.append(make(key, total - covered, 0, role=None, gender=None))
    if not out:
        out.append(make(key, 0, 0))
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
