"""Scenario 1, the ceiling: bare clients moving the suite's real records, no framework, no database.

The per-record aiokafka producer fills the four topics the reporting service consumes (so the records every
later scenario reads are the ones measured here); record batches and confluent-kafka (librdkafka) write the
same records to scratch topics; the bare aiokafka consumer reads the reporting service's topics, the
baseline of scenario 2's ratio.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.lib import Record, Stopwatch, SuiteRecords, _partitions, produce


async def aiokafka_produce(
    bootstrap: str, suite: SuiteRecords, count: int, *, batched: bool, topic: str | None
) -> float:
    with Stopwatch() as sw:
        sent = await produce(bootstrap, suite.records(count), batched=batched, topic=topic)
    return sent / sw.seconds


async def aiokafka_consume(bootstrap: str, names: Sequence[str], count: int) -> tuple[float, float]:
    """Records/s reading `count` records of `names` from the beginning (getmany, no group); and seconds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in names for p in sorted(await _partitions(consumer, t))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        with Stopwatch() as sw:
            while seen < count:
                batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                for records in batch.values():
                    seen += len(records)
    finally:
        await consumer.stop()
    return seen / sw.seconds, sw.seconds


def confluent_produce(bootstrap: str, topic: str, records: Sequence[Record] | SuiteRecords, count: int) -> float:
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "batch.size": 256 * 1024,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    source = records.records(count) if isinstance(records, SuiteRecords) else records
    start = time.perf_counter()
    sent = 0
    for _, key, value, headers in source:
        while True:
            try:
                producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        sent += 1
    producer.flush(300)
    return sent / (time.perf_counter() - start)


def confluent_consume(bootstrap: str, topic: str, count: int, group: str) -> float:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    start = None
    try:
        while seen < count:
            messages = consumer.consume(num_messages=10_000, timeout=1.0)
            if messages and start is None:
                start = time.perf_counter()
            seen += sum(1 for m in messages if m.error() is None)
    finally:
        consumer.close()
    return seen / (time.perf_counter() - (start or time.perf_counter()))
