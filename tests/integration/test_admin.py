"""The runbook commands work on the real broker and database (`lsg-admin dlq list|replay`, `outbox status`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from lsg_events import EVENT_TYPES, CloudEvent
from lsg_events.examples import EXAMPLES
from lsg_events.topics import dlq_topic
from lsg_local import testing
from lsg_shared import admin, db, dlq, migrate, outbox
from lsg_shared.consumer import EventConsumer, subscribe
from lsg_shared.kafka import make_broker
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]


async def test_dlq_list_and_replay_after_a_fix(
    kafka_settings: KafkaSettings, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = testing.unique("lsg.test.admin")
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap)
    await client.start()
    await client.create_topics([NewTopic(topic, 1, 1), NewTopic(dlq_topic(topic), 1, 1)])
    await client.close()
    pool = await db.create_pool(database_url)
    async with pool.acquire() as conn:
        await migrate.apply(conn, migrate.discover("lsg_shared", "lsg_shared"))
        await conn.execute("CREATE TABLE effects (event_id text)")
    fixed = asyncio.Event()  # the "bug" is fixed once this is set

    async def handler(conn: Any, event: CloudEvent) -> None:
        if not fixed.is_set():
            raise ValueError("bug: cannot handle this event yet")
        await conn.execute("INSERT INTO effects VALUES ($1)", event.id)

    event = CloudEvent(data=next(iter(EXAMPLES.values())), source="/lsg/test")
    key, value, headers = event.to_kafka()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    await producer.stop()

    broker = make_broker(kafka_settings, client_id="admin-test")
    consumer = EventConsumer(
        name=testing.unique("admin-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=handler,
        retries=1,
        backoff_s=0.01,
    )
    subscribe(broker, consumer, topic)
    await broker.start()
    try:
        async with testing.collect(kafka_settings.bootstrap, dlq_topic(topic)) as dead:
            await dead.wait_for(lambda c: len(c.records) == 1, 30, "the dead letter")
        capsys.readouterr()
        assert await admin.dlq_list(kafka_settings, dlq_topic(topic), 10, as_json=True) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [(x["reason"], x["ce_id"], x["original_topic"]) for x in listed] == [("handler-error", event.id, topic)]
        assert "bug: cannot handle" in listed[0]["error"]

        fixed.set()  # deploy the fix, then replay
        assert await admin.dlq_replay(kafka_settings, dlq_topic(topic), None, replay_all=True, dry_run=False) == 0
        for _ in range(300):
            if await pool.fetchval("SELECT count(*) FROM effects"):
                break
            await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT event_id FROM effects") == event.id
        # A second --all replays nothing: the replay position is remembered.
        capsys.readouterr()
        assert await admin.dlq_replay(kafka_settings, dlq_topic(topic), None, replay_all=True, dry_run=False) == 0
        assert "nothing to replay" in capsys.readouterr().out
    finally:
        await broker.stop()
        await pool.close()
    assert dlq.REASON.startswith("x-lsg-dlq-")


async def test_outbox_status_reports_backlog_and_error(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate.apply(conn, migrate.discover("lsg_shared", "lsg_shared"))
        async with conn.transaction():
            await outbox.enqueue(conn, CloudEvent(data=next(iter(EXAMPLES.values())), source="/lsg/test"))
        await conn.execute("UPDATE lsg_outbox SET last_error = 'KafkaConnectionError: down', attempts = 3")
    finally:
        await conn.close()
    assert await admin.outbox_status(database_url, as_json=True) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == 1
    assert status["oldest_pending_age_s"] >= 0
    assert status["blocking_error"]["last_error"] == "KafkaConnectionError: down"
