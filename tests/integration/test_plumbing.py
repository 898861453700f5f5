"""The foundation's plumbing on the real Kafka broker and PostgreSQL.

Each test shows one behaviour every service relies on, and fails if that behaviour breaks:
round-trip of every event type, inbox idempotency, the outbox across a broker outage, dead-lettering
without stopping, and trace context crossing Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lsg_events import EVENT_TYPES, CloudEvent
from lsg_events.examples import EXAMPLES
from lsg_events.topics import dlq_topic
from lsg_local import testing
from lsg_local.kafka import KafkaProcess
from lsg_shared import db, dlq, migrate, outbox
from lsg_shared.consumer import EventConsumer, subscribe
from lsg_shared.kafka import make_broker
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(database_url, min_size=1, max_size=5)
    async with p.acquire() as conn:
        await migrate.apply(conn, migrate.discover("lsg_shared", "lsg_shared"))
        await conn.execute("CREATE TABLE effects (event_id text NOT NULL, note text)")
    yield p
    await p.close()


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = testing.unique("lsg.test.plumbing")
    await create_topics(kafka_bootstrap, name, dlq_topic(name))
    return name


async def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def as_record(event: CloudEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    key, value, headers = event.to_kafka()
    return key, value, [(k, v.encode()) for k, v in headers.items()]


@contextlib.asynccontextmanager
async def consuming(
    broker: KafkaBroker, consumer: EventConsumer, topic: str, *, batch: bool = False
) -> AsyncIterator[None]:
    subscribe(broker, consumer, topic, group_id=consumer.name, batch=batch, max_records=50)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def record_effect(conn: Any, event: CloudEvent) -> None:
    await conn.execute("INSERT INTO effects (event_id) VALUES ($1)", event.id)


async def wait_until(predicate: Any, timeout: float = 30, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def enqueue_example(pool: asyncpg.Pool, topic: str) -> str:
    """An example event stored in the outbox, pointed at `topic` (the outbox keeps each row's destination)."""
    event = CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))].model_copy(), source="/lsg/test")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, event)
        await conn.execute("UPDATE lsg_outbox SET topic = $1 WHERE event_id = $2", topic, event.id)
    return event.id


# 1. Every event type round-trips through Kafka with its headers ------------------------------------------
async def test_every_event_type_round_trips_through_kafka(kafka_bootstrap: str, topic: str) -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES.values()), "every event type needs an example"
    sent = [CloudEvent(data=example, source="/lsg/test") for example in EXAMPLES.values()]
    async with testing.collect(kafka_bootstrap, topic) as collector:
        await produce(kafka_bootstrap, topic, [as_record(e) for e in sent])
        await collector.wait_for(lambda c: len(c.records) >= len(sent), 30, "all events")
    by_id = {r.headers["ce_id"]: r for r in collector.records}
    for event in sent:
        got = by_id[event.id]
        assert got.error is None, got.error
        assert got.event is not None
        assert got.event.type == event.type
        assert got.event.source == "/lsg/test"
        assert got.event.data == event.data  # validated on the way back into the same model
        assert got.key == event.key.encode()
        assert got.headers["ce_specversion"] == "1.0"
        assert got.headers["content-type"] == "application/json"
        assert got.headers["ce_type"].endswith(".v1")
        assert got.headers["ce_time"].endswith("Z")


# 2. The same event delivered twice has one effect (inbox), and the offsets are committed past both -------
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
async def test_duplicate_delivery_has_one_effect(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool, batch: bool
) -> None:
    event = CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test")
    other = CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test")
    await produce(
        kafka_settings.bootstrap, topic, [as_record(event), as_record(event), as_record(other), as_record(event)]
    )
    broker = make_broker(kafka_settings, client_id="plumbing-test")
    consumer = EventConsumer(
        name=testing.unique("inbox-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=record_effect,
    )
    async with consuming(broker, consumer, topic, batch=batch):

        async def committed_all() -> bool:
            offsets = await testing.committed_offsets(kafka_settings.bootstrap, consumer.name, [(topic, 0)])
            return offsets[(topic, 0)] == 4

        await wait_until(committed_all, what="offset 4 committed")
    rows = await pool.fetch("SELECT event_id FROM effects ORDER BY event_id")
    assert sorted(r["event_id"] for r in rows) == sorted([event.id, other.id])
    assert await pool.fetchval("SELECT count(*) FROM lsg_inbox WHERE consumer = $1", consumer.name) == 2


# 3. An outbox row written while the broker is down is published once it is back -------------------------
async def test_outbox_row_written_during_outage_is_published_after(tmp_path: Path, pool: asyncpg.Pool) -> None:
    port, controller = testing.free_ports(2)  # a private broker: stopping it disturbs no other test
    kafka = KafkaProcess(port, controller, tmp_path / "kafka", tmp_path / "logs")
    kafka.start()
    try:
        settings = KafkaSettings(bootstrap=kafka.bootstrap)
        topic = testing.unique("lsg.test.outbox")
        await create_topics(kafka.bootstrap, topic)
        broker = make_broker(settings, client_id="outbox-test")
        await broker.start()
        relay = outbox.OutboxRelay(pool, broker.publish, service="outbox-test", poll_interval_s=0.2)
        relay_task = asyncio.create_task(relay.run())
        try:
            kafka.stop()
            event_id = await enqueue_example(pool, topic)
            await asyncio.sleep(3)
            assert await pool.fetchval("SELECT published_at FROM lsg_outbox WHERE event_id = $1", event_id) is None
            kafka.start()

            async def published() -> bool:
                return await pool.fetchval(
                    "SELECT published_at IS NOT NULL FROM lsg_outbox WHERE event_id = $1", event_id
                )

            await wait_until(published, timeout=90, what="outbox row published after the broker returned")
        finally:
            await relay.stop()
            await asyncio.wait_for(relay_task, 15)
            await broker.stop()
        async with testing.collect(kafka.bootstrap, topic) as collector:
            await collector.wait_for(lambda c: len(c.events()) >= 1, 30, "the published event")
            await asyncio.sleep(1)
        assert [e.id for e in collector.events()] == [event_id]
    finally:
        kafka.stop()


# 3b. The relay survives losing its listening connection (PostgreSQL restart, network cut) ----------------
async def test_outbox_relay_recovers_after_its_database_connection_dies(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool
) -> None:
    broker = make_broker(kafka_settings, client_id="relay-reconnect-test")
    await broker.start()
    relay = outbox.OutboxRelay(pool, broker.publish, service="relay-reconnect-test", poll_interval_s=0.2)
    relay_task = asyncio.create_task(relay.run())

    async def published(event_id: str) -> None:
        async def done() -> bool:
            return await pool.fetchval("SELECT published_at IS NOT NULL FROM lsg_outbox WHERE event_id = $1", event_id)

        await wait_until(done, timeout=30, what=f"outbox row {event_id} published")

    try:
        first = await enqueue_example(pool, topic)
        await published(first)
        # Kill every other backend of this database: the relay's LISTEN connection among them.
        async with pool.acquire() as conn:
            killed = await conn.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t"
            )
        assert killed >= 1
        await asyncio.sleep(0.5)
        second = await enqueue_example(pool, topic)
        await published(second)
        assert not relay_task.done(), "the relay task ended"
    finally:
        await relay.stop()
        await asyncio.wait_for(relay_task, 15)
        await broker.stop()
    async with testing.collect(kafka_settings.bootstrap, topic) as collector:
        await collector.wait_for(lambda c: len(c.events()) >= 2, 30, "both published events")
    assert sorted(e.id for e in collector.events()) == sorted([first, second])


# 3c. Two replicas' relays on one database: every row once and in order, one relay does the work --------
async def test_two_relays_publish_every_row_once_in_order_and_the_follower_takes_over(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool, database_url: str
) -> None:
    broker = make_broker(kafka_settings, client_id="relay-pair-test")
    await broker.start()
    other_pool = await db.create_pool(database_url, min_size=1, max_size=3)  # the second replica's own pool
    relays = [
        outbox.OutboxRelay(p, broker.publish, service="relay-pair-test", poll_interval_s=0.5)
        for p in (pool, other_pool)
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    ids: list[str] = []

    async def all_published() -> bool:
        return not await pool.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL")

    try:
        for n in range(60):  # both replicas write, 20 rows/s for 3 s
            ids.append(await enqueue_example(pool if n % 2 else other_pool, topic))
            await asyncio.sleep(0.05)
        await wait_until(all_published, 30, "every row published")
        # Without the follower rule the losing relay raced for the lock once per row (~60 lost rounds);
        # with it, about once per poll interval (3 s / 0.5 s).
        lost = sum(r.rounds_without_lock for r in relays)
        assert lost < 30, f"{lost} rounds lost the lock for 60 rows"
        # The active relay stops (a replica going away): the other one takes over by polling.
        active = next((i for i, r in enumerate(relays) if not r.following), 0)
        await relays[active].stop()
        await asyncio.wait_for(tasks[active], 15)
        for _ in range(5):
            ids.append(await enqueue_example(pool, topic))
        await wait_until(all_published, 30, "rows written after the active relay stopped published")
    finally:
        for relay in relays:
            await relay.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        await broker.stop()
        await other_pool.close()
    async with testing.collect(kafka_settings.bootstrap, topic) as collector:
        await collector.wait_for(lambda c: len(c.events()) >= len(ids), 30, "every published event")
    assert [e.id for e in collector.events()] == ids  # once each, in commit order (one partition)


# 4. A malformed message goes to the DLQ with its reason, and the next good message is processed ---------
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
async def test_malformed_message_is_dead_lettered_and_consumer_goes_on(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool, batch: bool
) -> None:
    good = CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test")
    _, _, good_headers = as_record(good)
    bad_json = (b"k", b"{not json", [(k, v) for k, v in good_headers if k != "ce_id"] + [("ce_id", b"bad-1")])
    no_headers = (b"k", b'{"a": 1}', [])
    unknown_type = (
        b"k",
        good.data.model_dump_json().encode(),
        [(k, v if k != "ce_type" else b"lv.lsg.nothing.v9") for k, v in good_headers],
    )
    await produce(kafka_settings.bootstrap, topic, [bad_json, no_headers, unknown_type, as_record(good)])
    broker = make_broker(kafka_settings, client_id="dlq-test")
    consumer = EventConsumer(
        name=testing.unique("dlq-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=record_effect,
    )
    async with (
        testing.collect(kafka_settings.bootstrap, dlq_topic(topic)) as dead,
        consuming(broker, consumer, topic, batch=batch),
    ):

        async def good_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", good.id))

        await wait_until(good_applied, what="the good message's effect")
        await dead.wait_for(lambda c: len(c.records) >= 3, 30, "three dead letters")
    reasons = sorted(r.headers[dlq.REASON] for r in dead.records)
    assert reasons == ["invalid-data", "missing-attribute", "unknown-type"]
    for record in dead.records:
        assert record.headers[dlq.ORIGINAL_TOPIC] == topic
        assert record.headers[dlq.CONSUMER] == consumer.name
        assert record.headers[dlq.ERROR]
    bad_letter = next(r for r in dead.records if r.headers[dlq.REASON] == "invalid-data")
    assert bad_letter.value == b"{not json"  # the original record is kept for replay
    assert bad_letter.headers["ce_id"] == "bad-1"


async def test_failing_handler_is_retried_then_dead_lettered_never_skipped(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool
) -> None:
    """Message N fails twice then succeeds; message M always fails: N is applied, M dead-lettered, N+1 applied."""
    events = [CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test") for _ in range(3)]
    flaky, broken, after = events
    attempts: dict[str, int] = {}

    async def handler(conn: Any, event: CloudEvent) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        await record_effect(conn, event)  # rolled back when we raise below
        if event.id == flaky.id and attempts[event.id] <= 2:
            raise RuntimeError("transient bug")
        if event.id == broken.id:
            raise ValueError("always broken")

    await produce(kafka_settings.bootstrap, topic, [as_record(e) for e in events])
    broker = make_broker(kafka_settings, client_id="retry-test")
    consumer = EventConsumer(
        name=testing.unique("retry-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=handler,
        retries=3,
        backoff_s=0.05,
    )
    async with testing.collect(kafka_settings.bootstrap, dlq_topic(topic)) as dead, consuming(broker, consumer, topic):

        async def after_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", after.id))

        await wait_until(after_applied, what="the message after the broken one")
        await dead.wait_for(lambda c: len(c.records) >= 1, 30, "the dead letter")
    applied = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM effects")}
    assert applied == {flaky.id, after.id}
    assert attempts[flaky.id] == 3
    assert attempts[broken.id] == 4  # first try + 3 retries
    assert [r.headers["ce_id"] for r in dead.records] == [broken.id]
    assert dead.records[0].headers[dlq.REASON] == "handler-error"
    assert dead.records[0].headers[dlq.ATTEMPTS] == "4"


# 5. Trace context crosses Kafka: the consumer span carries the producer's trace id ----------------------
async def test_trace_context_crosses_kafka_through_the_outbox(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    broker = make_broker(kafka_settings, client_id="trace-test", tracer_provider=provider)
    seen_trace: list[int] = []

    async def handler(conn: Any, event: CloudEvent) -> None:
        from opentelemetry import trace

        seen_trace.append(trace.get_current_span().get_span_context().trace_id)
        await record_effect(conn, event)

    consumer = EventConsumer(
        name=testing.unique("trace-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=handler,
    )
    subscribe(broker, consumer, topic, group_id=consumer.name)
    await broker.start()
    relay = outbox.OutboxRelay(pool, broker.publish, service="trace-test", poll_interval_s=0.2)
    relay_task = asyncio.create_task(relay.run())
    try:
        event = CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test")
        with tracer.start_as_current_span("POST /v1/things") as request_span:
            origin = request_span.get_span_context().trace_id
            async with pool.acquire() as conn, conn.transaction():
                await outbox.enqueue(conn, event)
                await conn.execute("UPDATE lsg_outbox SET topic = $1 WHERE event_id = $2", topic, event.id)

        async def applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", event.id))

        await wait_until(applied, what="the event consumed")
    finally:
        await relay.stop()
        await asyncio.wait_for(relay_task, 15)
        await broker.stop()
    consumer_spans = [s for s in exporter.get_finished_spans() if s.kind.name == "CONSUMER"]
    producer_spans = [s for s in exporter.get_finished_spans() if s.kind.name == "PRODUCER"]
    assert producer_spans, "the relay's publish made no producer span"
    assert consumer_spans, "the consumer made no span"
    assert all(s.context.trace_id == origin for s in producer_spans)
    assert any(s.context.trace_id == origin for s in consumer_spans)
    assert seen_trace == [origin], "the handler did not run inside the request's trace"


async def test_a_batch_consumer_continues_each_producers_trace(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool
) -> None:
    """A batch span is a root with links (it has many producers); each producer's trace still gets a consumer
    span of its own, so a request's trace shows where its event was consumed (reporting consumes in batches)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    broker = make_broker(kafka_settings, client_id="batch-trace-test", tracer_provider=provider)
    consumer = EventConsumer(
        name=testing.unique("batch-trace-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=record_effect,
    )
    subscribe(broker, consumer, topic, group_id=consumer.name, batch=True, max_records=50)
    await broker.start()
    relay = outbox.OutboxRelay(pool, broker.publish, service="batch-trace-test", poll_interval_s=0.2)
    relay_task = asyncio.create_task(relay.run())
    origins: list[int] = []
    events: list[CloudEvent] = []
    try:
        for _ in range(2):  # two requests, two traces, likely one batch
            event = CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test")
            events.append(event)
            with tracer.start_as_current_span("POST /v1/things") as request_span:
                origins.append(request_span.get_span_context().trace_id)
                async with pool.acquire() as conn, conn.transaction():
                    await outbox.enqueue(conn, event)
                    await conn.execute("UPDATE lsg_outbox SET topic = $1 WHERE event_id = $2", topic, event.id)

        async def applied() -> bool:
            ids = [e.id for e in events]
            return bool(await pool.fetchval("SELECT count(*) = 2 FROM effects WHERE event_id = ANY($1)", ids))

        await wait_until(applied, what="both events consumed")
    finally:
        await relay.stop()
        await asyncio.wait_for(relay_task, 15)
        await broker.stop()
    consumer_spans = [s for s in exporter.get_finished_spans() if s.kind.name == "CONSUMER"]
    for origin in origins:
        assert any(s.context.trace_id == origin for s in consumer_spans), "a producer's trace has no consumer span"


# Consumer lag is measured per partition from the running consumer (the operations metric) -------------
async def test_consumer_lag_is_sampled_per_partition(
    kafka_settings: KafkaSettings, topic: str, pool: asyncpg.Pool
) -> None:
    from lsg_shared import metrics, sampler

    release = asyncio.Event()

    async def slow_handler(conn: Any, event: CloudEvent) -> None:
        await release.wait()
        await record_effect(conn, event)

    events = [CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test") for _ in range(10)]
    await produce(kafka_settings.bootstrap, topic, [as_record(e) for e in events])
    broker = make_broker(kafka_settings, client_id="lag-test")
    consumer = EventConsumer(
        name=testing.unique("lag-test"),
        pool=lambda: pool,
        publish=broker.publish,
        registry=EVENT_TYPES,
        handle=slow_handler,
    )
    async with consuming(broker, consumer, topic):
        lag: dict[tuple[str, str, int], int] = {}

        async def lag_seen() -> bool:
            lag.update(await sampler.sample_lag(broker))
            return lag.get((consumer.name, topic, 0), 0) == 9  # blocked on the first of ten

        await wait_until(lag_seen, what="lag 9 while the handler is blocked")
        gauge = metrics.CONSUMER_LAG.labels(consumer.name, topic, "0")._value.get()
        assert gauge == 9
        release.set()

        async def drained() -> bool:
            return (await sampler.sample_lag(broker)).get((consumer.name, topic, 0)) == 0

        await wait_until(drained, what="lag back to 0")
    assert await pool.fetchval("SELECT count(*) FROM effects") == 10


# Topics are created explicitly from the registry; a refused creation fails loudly ----------------------
async def test_ensure_topics_creates_missing_and_reports_refusals(kafka_settings: KafkaSettings) -> None:
    from aiokafka.errors import KafkaError

    from lsg_events.topics import TopicSpec
    from lsg_shared.kafka import ensure_topics

    name = testing.unique("lsg.test.registry")
    spec = TopicSpec(name, 2, 3, 86_400_000, "compact", "k", ("a",), ("b",), "test")
    assert await ensure_topics(kafka_settings, [spec]) == [name]
    assert await ensure_topics(kafka_settings, [spec]) == []  # idempotent
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([name])
        assert len(described["partitions"]) == 2  # replication capped at the one local broker, partitions kept
    finally:
        await admin.close()
    bad = TopicSpec(testing.unique("lsg.test.bad"), 1, 1, 1000, "shred", "k", (), (), "invalid cleanup policy")
    with pytest.raises(KafkaError, match="could not create topics"):
        await ensure_topics(kafka_settings, [bad])
