"""Kafka helpers for tests and benches."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition


async def skip_to_end(bootstrap: str, group_id: str, topic: str) -> None:
    """Commit `group_id` at the end of `topic`: a consumer of that group then reads only what comes next (and
    skips the records other tests or runs left on a shared broker)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0, 1, 2})]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()
