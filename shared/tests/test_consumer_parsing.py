"""The consumer's FastStream parsers: a header that is not UTF-8 never fails parsing (the record is then
dead-lettered by `from_kafka`), and a batch is parsed without per-record header dictionaries."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.parser import AioKafkaBatchParser, AioKafkaParser

from lsg_shared.consumer import _parse_batch, _parse_record

pytestmark = pytest.mark.unit
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def record(offset: int, headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t", 0, offset, 0, 0, b"k", b"v%d" % offset, None, 1, 2, headers)


async def test_a_record_with_a_header_that_is_not_utf8_still_parses_and_keeps_its_bytes() -> None:
    raw = record(5, [("ce_id", b"\xff\xfe")])
    parsed = await _parse_record(raw, AioKafkaParser(msg_class=KafkaAckableMessage, regex=None).parse_message)
    assert parsed.raw_message is raw  # the handler sees the bytes as they came, and dead-letters the record


@pytest.mark.parametrize("first_bad", [False, True])
async def test_a_batch_is_parsed_whole_with_the_trace_contexts_of_its_records(first_bad: bool) -> None:
    good = [("ce_id", b"1"), ("traceparent", TRACEPARENT)]
    bad = [("ce_id", b"\xff")]
    batch = (record(1, bad if first_bad else good), record(2, good if first_bad else bad), record(3, []))
    parser = AioKafkaBatchParser(msg_class=KafkaAckableMessage, regex=None)
    parsed = await _parse_batch(batch, parser.parse_batch)
    assert parsed.raw_message is batch
    assert parsed.body == [b"v1", b"v2", b"v3"]
    assert parsed.batch_headers == [{"traceparent": TRACEPARENT.decode()}]
    assert parsed.message_id == "1-3-0"
