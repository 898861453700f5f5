"""Scenario 1, the ceiling: bare clients moving the suite's real records, no framework, no database.

aiokafka producer (acks=all, idempotent, batched) and consumer (getmany), and confluent-kafka (librdkafka) for
comparison, each way over the same number of records.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.lib import Stopwatch, Templates, fill_topic


async def aiokafka_produce_batched(bootstrap: str, topic: str, count: int, templates: Templates) -> float:
    """aiokafka's fastest path: explicit record batches per partition."""
    records = list(templates.records(count, seed=13))
    with Stopwatch() as sw:
        await fill_topic(bootstrap, topic, iter(records))
    return count / sw.seconds


async def aiokafka_produce(bootstrap: str, topic: str, count: int, templates: Templates) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        compression_type=None,
    )
    await producer.start()
    records = list(templates.records(count))
    try:
        with Stopwatch() as sw:
            pending: list[Any] = []
            for key, value, headers in records:
                pending.append(await producer.send(topic, value, key=key, headers=headers))
                if len(pending) >= 20_000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count / sw.seconds


async def aiokafka_consume(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
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
    return seen / sw.seconds


def confluent_produce(bootstrap: str, topic: str, count: int, templates: Templates) -> float:
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
    records = list(templates.records(count, seed=11))
    start = time.perf_counter()
    for key, value, headers in records:
        while True:
            try:
                producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    return count / (time.perf_counter() - start)


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
