"""Integration tests of the local stack: a real Kafka broker and a real PostgreSQL server.

The shared stack (``LocalStack()``, default ports) is started if needed and left running; the
restart test runs its own broker on 29192/29193 in a tmp folder and stops it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from lsg_local.kafka import KafkaProcess, probe_kafka
from lsg_local.stack import DATABASES, LocalStack, StackInfo

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack() -> StackInfo:
    return LocalStack().ensure_started()


async def _create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resp = await admin.create_topics([NewTopic(topic, partitions, 1)])
        errors = [(name, code, *rest) for name, code, *rest in resp.topic_errors if code != 0]
        assert not errors, errors
    finally:
        await admin.close()


async def _list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


@pytest.fixture
async def fresh_topic(stack: StackInfo) -> AsyncIterator[str]:
    topic = f"lsg-local-test-{uuid.uuid4().hex[:10]}"
    await _create_topic(stack.kafka_bootstrap, topic)
    yield topic
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


def test_stack_info_and_env(stack: StackInfo) -> None:
    assert stack.kafka_bootstrap.startswith("127.0.0.1:")
    assert stack.postgres_dsn.startswith("postgresql://postgres:postgres@127.0.0.1:")
    env = stack.env()
    assert env["LSG_KAFKA_BOOTSTRAP"] == stack.kafka_bootstrap
    assert env["LSG_DATABASE_URL"].endswith("/postgres")
    for service, db in DATABASES.items():
        assert env[f"LSG_{service.upper()}_DATABASE_URL"].endswith(f"/{db}")


def test_ensure_started_reuses_running_stack(stack: StackInfo) -> None:
    t0 = time.monotonic()
    again = LocalStack().ensure_started()
    assert again == stack
    assert time.monotonic() - t0 < 5


async def test_kafka_produce_consume(stack: StackInfo, fresh_topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(fresh_topic, '{"hello": "Rīga"}'.encode(), key=b"k1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        fresh_topic,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=f"lsg-local-test-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert msg.key == b"k1"
    assert msg.value == '{"hello": "Rīga"}'.encode()


async def test_topics_are_not_auto_created(stack: StackInfo) -> None:
    topic = f"lsg-local-absent-{uuid.uuid4().hex[:10]}"
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=3000)
    await producer.start()
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - aiokafka raises KafkaTimeoutError here
            await asyncio.wait_for(producer.send_and_wait(topic, b"x"), timeout=10)
    finally:
        await producer.stop()
    assert topic not in await _list_topics(stack.kafka_bootstrap)


async def test_postgres_version_and_databases(stack: StackInfo) -> None:
    conn = await asyncpg.connect(stack.postgres_dsn)
    try:
        version = await conn.fetchval("select version()")
        assert version.startswith("PostgreSQL 18.")
        assert await conn.fetchval("show max_connections") == "200"
    finally:
        await conn.close()
    for url in stack.database_urls.values():
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("select current_database()") == url.rsplit("/", 1)[1]
        finally:
            await conn.close()


@pytest.fixture
def tmp_kafka(tmp_path: Path) -> Iterator[KafkaProcess]:
    kafka = KafkaProcess(29192, 29193, tmp_path / "kafka", tmp_path / "logs", heap="256m")
    try:
        yield kafka
    finally:
        kafka.stop(timeout=20)


async def test_kafka_restart_keeps_topics(tmp_kafka: KafkaProcess) -> None:
    assert not tmp_kafka.is_running()
    assert await asyncio.to_thread(tmp_kafka.start) is True
    assert tmp_kafka.is_running()
    assert tmp_kafka.bootstrap == "127.0.0.1:29192"
    assert probe_kafka("127.0.0.1", 29192) == [1]
    assert await asyncio.to_thread(tmp_kafka.start) is False  # already running: reused

    topic = "lsg-local-restart"
    await _create_topic(tmp_kafka.bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=tmp_kafka.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before-restart", partition=1)
    finally:
        await producer.stop()

    pid = tmp_kafka.pid()
    assert await asyncio.to_thread(tmp_kafka.stop) is True
    assert not tmp_kafka.is_running()
    assert tmp_kafka.pid() is None
    assert not tmp_kafka.pid_file.exists()
    assert await asyncio.to_thread(tmp_kafka.stop) is False

    assert await asyncio.to_thread(tmp_kafka.start) is True
    assert tmp_kafka.pid() not in (None, pid)
    assert topic in await _list_topics(tmp_kafka.bootstrap)

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=tmp_kafka.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    assert (msg.partition, msg.value) == (1, b"before-restart")

    assert await asyncio.to_thread(tmp_kafka.stop) is True
    assert not tmp_kafka.is_running()
    assert (tmp_kafka.log_dir / "server.log").is_file()
