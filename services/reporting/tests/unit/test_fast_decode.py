"""The consumer's fast decoder (`adapters.fast_decode`) against the full contract (`from_kafka`): the same
facts and area rows for every event of a generated programme year, and the full path for what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lsg_events import EVENT_TYPES
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_reporting.adapters import fast_decode
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.application.aggregation import CONSUMED_TOPICS, Aggregator
from lsg_reporting.domain.catalogue import load
from lsg_reporting.domain.rules import Extractor
from lsg_testkit.programme import generate

CAT = load()
EXTRACTOR = Extractor(CAT)
FAST = fast_decode.for_extractor(EVENT_TYPES, EXTRACTOR, CONSUMED_TOPICS)


def _records() -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    programme = generate(seed=5, run="fast", respondents=(60, 60, 60, 60), alerts=120)
    out = []
    for event in programme.events:
        _, value, headers = event.to_kafka()
        out.append((value, [(k, v.encode()) for k, v in headers.items()]))
    return out


RECORDS = _records()


def _facts(event: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    EXTRACTOR.extend(out, event, epoch=True)
    return out


def test_every_consumed_event_type_has_a_fast_path() -> None:
    consumed = {t for t, m in EVENT_TYPES.items() if m.topic in CONSUMED_TOPICS}
    seen = {json_type for _, h in RECORDS for k, v in h if k == "ce_type" for json_type in [v.decode()]}
    assert seen <= consumed
    assert seen <= FAST.event_types, seen - FAST.event_types


def test_the_fast_path_gives_the_facts_and_areas_of_the_full_contract() -> None:
    types_seen = set()
    for value, headers in RECORDS:
        full = from_kafka(value, headers, EVENT_TYPES)
        fast = FAST.decode(value, headers)
        assert fast is not None, full.type
        types_seen.add(fast.type)
        assert (fast.source, fast.id, fast.type, fast.time) == (full.source, full.id, full.type, full.time)
        assert _facts(fast) == _facts(full), full.type
        fast_areas = Aggregator(EXTRACTOR).new_areas([fast])
        full_areas = pg.area_rows([p] if (p := getattr(full.data, "place", None)) else [])
        assert [(*r[:3], json.loads(r[3])) for r in fast_areas] == [(*r[:3], json.loads(r[3])) for r in full_areas]
    assert len(types_seen) >= 10


def _survey_record(**changes: Any) -> tuple[bytes, list[tuple[str, bytes]]]:
    value, headers = next((v, h) for v, h in RECORDS if b"response.recorded" in dict(h)["ce_type"])
    data = json.loads(value)
    data.update(changes)
    return json.dumps(data).encode(), headers


@pytest.mark.parametrize(
    ("changes", "full_accepts"),
    [
        ({"wave": "2"}, True),  # pydantic coerces a numeric string; msgspec is strict: the full path takes it
        ({"wave": 0}, False),  # ge=1: invalid in both
        ({"gender": "robot"}, False),  # not one of the literals
        ({"place": {"country": "LV", "territory": {"code": "T1", "name": {"lv": "a", "ru": "b", "en": "c"}}}}, False),
        ({"submitted_at": None}, False),  # a required field no feed reads: still required
    ],
)
def test_what_the_fast_path_refuses_goes_to_the_full_contract(changes: dict[str, Any], full_accepts: bool) -> None:
    value, headers = _survey_record(**changes)
    assert FAST.decode(value, headers) is None or not full_accepts
    if full_accepts:
        from_kafka(value, headers, EVENT_TYPES)
    else:
        assert FAST.decode(value, headers) is None
        with pytest.raises(PoisonMessage):
            from_kafka(value, headers, EVENT_TYPES)


def test_bad_records_are_left_to_the_full_decoder() -> None:
    value, headers = RECORDS[0]
    assert FAST.decode(b"{not json", headers) is None
    assert FAST.decode(value, [*headers[:1], ("ce_id", b"\xff")]) is None
    assert FAST.decode(value, [(k, b"0.3" if k == "ce_specversion" else v) for k, v in headers]) is None
    assert FAST.decode(None, headers) is None
