"""CloudEvents binary-mode encoding and the exact reasons a record is rejected."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsg_events import EVENT_TYPES, CloudEvent, PoisonMessage, from_kafka
from lsg_events.examples import EXAMPLES

pytestmark = pytest.mark.unit


def record(event: CloudEvent) -> tuple[bytes, list[tuple[str, bytes]]]:
    _, value, headers = event.to_kafka()
    return value, [(k, v.encode()) for k, v in headers.items()]


@pytest.mark.parametrize("model", list(EXAMPLES), ids=lambda m: m.event_type)
def test_every_example_round_trips(model: type) -> None:
    event = CloudEvent(data=EXAMPLES[model], source="/lsg/test", extensions={"partner": "p1"})
    value, headers = record(event)
    back = from_kafka(value, headers, EVENT_TYPES)
    assert back.data == event.data
    assert (back.id, back.source, back.type) == (event.id, event.source, event.type)
    assert back.time == event.time
    assert back.extensions["partner"] == "p1"
    assert back.extensions["partitionkey"] == event.key


def test_type_strings_carry_a_version_and_are_unique() -> None:
    types = [m.event_type for m in EXAMPLES]
    assert len(types) == len(set(types))
    assert all(t.startswith("lv.lsg.") and t.rsplit(".", 1)[-1].startswith("v") for t in types)


def test_utf8_names_survive() -> None:
    example = next(e for e in EXAMPLES.values() if getattr(e, "place", None) is not None and e.place.country == "RU")
    value, headers = record(CloudEvent(data=example, source="/lsg/test"))
    assert "Беседа".encode() in value  # UTF-8, not \\u escapes
    assert from_kafka(value, headers, EVENT_TYPES).data == example


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda v, h: (v, [x for x in h if x[0] != "ce_id"]), "missing-attribute"),
        (lambda v, h: (v, [(k, b"0.3" if k == "ce_specversion" else x) for k, x in h]), "unsupported-specversion"),
        (lambda v, h: (v, [(k, b"lv.lsg.unknown.v1" if k == "ce_type" else x) for k, x in h]), "unknown-type"),
        (lambda v, h: (v, [(k, b"text/xml" if k == "content-type" else x) for k, x in h]), "unsupported-content-type"),
        (lambda v, h: (b"{not json", h), "invalid-data"),
        (lambda v, h: (json.dumps({"unrelated": 1}).encode(), h), "invalid-data"),
        (lambda v, h: (v, [(k, b"yesterday" if k == "ce_time" else x) for k, x in h]), "invalid-attribute"),
        (lambda v, h: (v, [(k, b"\xff\xfe" if k == "ce_source" else x) for k, x in h]), "invalid-header"),
        (lambda v, h: (None, h), "empty-value"),
    ],
)
def test_poison_reasons(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    value, headers = record(CloudEvent(data=next(iter(EXAMPLES.values())), source="/lsg/test"))
    bad_value, bad_headers = mutate(value, headers)
    with pytest.raises(PoisonMessage) as caught:
        from_kafka(bad_value, bad_headers, EVENT_TYPES)
    assert caught.value.reason == reason
    assert caught.value.detail


@given(
    value=st.one_of(st.none(), st.binary(max_size=300)),
    headers=st.lists(
        st.tuples(st.sampled_from(["ce_id", "ce_type", "ce_source", "ce_specversion", "x"]), st.binary(max_size=40)),
        max_size=6,
    ),
)
def test_arbitrary_records_only_ever_raise_poison(value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
    try:
        event = from_kafka(value, headers, EVENT_TYPES)
    except PoisonMessage as exc:
        assert exc.reason  # noqa: PT017 (a named reason, never another exception)
    else:
        assert event.type in EVENT_TYPES


def test_header_layouts_other_than_ours_decode_the_same() -> None:
    event = CloudEvent(data=next(iter(EXAMPLES.values())), source="/lsg/test", extensions={"partner": "p1"})
    value, headers = record(event)
    as_tuple = from_kafka(value, tuple(headers), EVENT_TYPES)
    as_mapping = from_kafka(value, dict(headers), EVENT_TYPES)
    as_iterator = from_kafka(value, iter(headers), EVENT_TYPES)
    with_none = from_kafka(value, [*headers, ("x-empty", None)], EVENT_TYPES)
    for back in (as_tuple, as_mapping, as_iterator, with_none):
        assert back.data == event.data
        assert (back.id, back.source, back.time) == (event.id, event.source, event.time)
        assert dict(back.extensions) == {"partner": "p1", "partitionkey": event.key}
    plain = from_kafka(*record(CloudEvent(data=event.data, source="/lsg/test")), EVENT_TYPES)
    assert dict(plain.extensions) == {"partitionkey": event.key}


def test_a_header_that_is_not_utf8_is_poison_whatever_its_name() -> None:
    value, headers = record(CloudEvent(data=next(iter(EXAMPLES.values())), source="/lsg/test"))
    with pytest.raises(PoisonMessage) as caught:
        from_kafka(value, [*headers, ("traceparent", b"\xff")], EVENT_TYPES)
    assert caught.value.reason == "invalid-header"
