"""Kafka read for the rebuild: every record of the topics from offset 0 up to their ends as they are now.

No consumer group: nothing is committed and the live consumer is untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from lsg_shared.kafka import client_kwargs
from lsg_shared.settings import KafkaSettings


async def _partitions(kafka: KafkaSettings, names: tuple[str, ...]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_kwargs(kafka), client_id="lsg-reporting-rebuild")
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    missing = [d["topic"] for d in described if d.get("error_code")]
    if missing:
        raise RuntimeError(f"cannot rebuild: topics {missing} are not available")
    return [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]


async def replay(
    kafka: KafkaSettings, names: tuple[str, ...], *, batch: int
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """The topics' records up to the end offsets read at the start, in fetched batches of at most `batch`."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = await _partitions(kafka, names)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            got = await consumer.getmany(*pending, timeout_ms=1000, max_records=batch)
            yield [r for tp, records in got.items() for r in records if r.offset < ends[tp]]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
