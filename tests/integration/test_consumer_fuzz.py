"""Random CloudEvents headers and values on the reporting service's topics (issue 23, the Kafka doors' fuzz).

Hypothesis draws the records (missing and garbled `ce_*` headers, wrong types, non-UTF-8 bytes, NUL characters,
huge numbers, unknown event types, valid-looking events with invalid data, empty values); they go to the real
service (its app in-process) on real Kafka and PostgreSQL. Every record either lands (its event is in the
service's inbox) or is dead-lettered to `<topic>.dlq` with a reason header, and the consumer goes on: a valid
event sent after the garbage on every topic is processed.

The reporting service consumes the registry's topic names, so the records go to a PRIVATE broker of this
module's (free ports, a fresh folder): on the shared one `make run`'s reporting would consume them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lsg_events import CloudEvent, topics
from lsg_events.examples import EXAMPLES
from lsg_local.testing import collect, free_ports, running_app, unique, wait_ready
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings
from lsg_shared import dlq
from lsg_shared.kafka import ensure_topics
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

CONSUMED = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)
EVENTS = [m for m in EXAMPLES if m.topic in CONSUMED]
RECORDS = 80

# (topic, key, value, headers)
Record = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from lsg_local.kafka import KafkaProcess

    base: Path = tmp_path_factory.mktemp("consumer-fuzz-kafka")
    port, controller = free_ports(2)
    kafka = KafkaProcess(
        port, controller, base / "data", base / "logs", heap="512m", extra_properties={"num.partitions": "1"}
    )
    kafka.start(timeout=180)
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop()


def draw(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    out: list[Any] = []

    @settings(
        max_examples=n, database=None, phases=[Phase.generate], deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def run(value: Any) -> None:
        out.append(value)

    run()
    return out


def _valid(model: Any, run: str, n: int) -> tuple[str, bytes, bytes, dict[str, str]]:
    event = CloudEvent(data=EXAMPLES[model].model_copy(), source="/lsg/fuzz", id=f"{run}-{n}")
    key, value, headers = event.to_kafka()
    return event.topic, key, value, headers


nasty_text = st.one_of(
    st.text(max_size=20),
    st.just("\x00"),
    st.text(max_size=10).map(lambda t: t + "\x00" + t),
    st.just("9" * 400),
    st.just(""),
    st.sampled_from(["1.0", "0.3", "2.0", "/lsg/fuzz", "lv.lsg.nope.v1", "2025-13-45T99:00:00Z", "2025-01-01T00:00"]),
)
header_value = st.one_of(
    nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
    st.just(b"\xff\xfe\xfd"),
)
json_junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=False),
        nasty_text,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def records(draw_: Any, run: str) -> tuple[Record, str | None]:
    """A record and the event id it would land with if it is valid (None: it cannot be a valid event)."""
    n = draw_(st.integers(min_value=0, max_value=10**9))
    model = draw_(st.sampled_from(EVENTS))
    topic, key, value, text_headers = _valid(model, run, n)
    headers: dict[str, bytes] = {k: v.encode() for k, v in text_headers.items()}
    # headers: drop some, garble some, add some
    for name in draw_(st.lists(st.sampled_from(sorted(headers)), max_size=3, unique=True)):
        if draw_(st.booleans()):
            del headers[name]
        else:
            headers[name] = draw_(header_value)
    if draw_(st.booleans()):
        headers[draw_(st.sampled_from(["ce_type", "ce_extra", "ce_", "content-type"]))] = draw_(header_value)
    # the value: the valid JSON, the JSON with one field spoilt, other JSON, bytes, nothing
    choice = draw_(st.sampled_from(["valid", "spoilt", "json", "bytes", "none", "nul"]))
    if choice == "spoilt":
        data = json.loads(value)
        field = draw_(st.sampled_from(sorted(data)))
        data[field] = draw_(json_junk)
        value = json.dumps(data).encode()
    elif choice == "json":
        value = json.dumps(draw_(json_junk)).encode()
    elif choice == "bytes":
        value = draw_(st.binary(max_size=64))
    elif choice == "nul":
        value = value.replace(b'"', b'"\\u0000', 1)
    elif choice == "none":
        value = None
    if draw_(st.booleans()):
        topic = draw_(st.sampled_from(CONSUMED))  # perhaps not the event type's own topic
    key_out: bytes | None = draw_(st.one_of(st.just(key), st.none(), st.binary(max_size=8)))
    if key_out is None and value is None:
        key_out = key  # a record needs a key or a value (a tombstone has a key)
    try:  # the id it lands with, if it lands: whatever ce_id says
        event_id = headers["ce_id"].decode("utf-8") if "ce_id" in headers else None
    except UnicodeDecodeError:
        event_id = None
    return (topic, key_out, value, list(headers.items())), event_id


async def _inbox(dsn: str, group: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT event_id FROM lsg_inbox WHERE consumer = $1", group)
    except asyncpg.UndefinedTableError:
        return set()
    finally:
        await conn.close()
    return {r["event_id"] for r in rows}


async def test_random_cloudevents_land_or_are_dead_lettered(private_kafka: str, database_url: str) -> None:
    run = unique("fuzz")
    drawn = draw(records(run), RECORDS)
    group = unique("reporting-fuzz")
    kafka = KafkaSettings(bootstrap=private_kafka)
    await ensure_topics(kafka, topics.TOPICS)
    settings_ = ReportingSettings(
        database_url=database_url,
        kafka=kafka,
        consumer_group=group,
        publish_figures=False,
        consumer_retries=1,
        consumer_retry_backoff_s=0.05,
    )
    dead = [topics.dlq_topic(t) for t in CONSUMED]
    async with running_app(create_app(settings_)) as client, collect(private_kafka, *dead) as letters:
        await wait_ready(client)
        producer = AIOKafkaProducer(bootstrap_servers=private_kafka, acks="all", max_request_size=2_000_000)
        await producer.start()
        sent: dict[tuple[str, int, int], str | None] = {}
        try:
            for (topic, key, value, headers), event_id in drawn:
                meta = await producer.send_and_wait(topic, value, key=key, headers=headers)
                sent[(meta.topic, meta.partition, meta.offset)] = event_id
            sentinels = []
            for n, topic in enumerate(CONSUMED):  # after the garbage: a valid event on every topic
                model = next(m for m in EVENTS if m.topic == topic)
                _, key, value, headers = _valid(model, f"{run}-ok", n)
                sentinels.append(f"{run}-ok-{n}")
                await producer.send_and_wait(
                    topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
                )
        finally:
            await producer.stop()

        def settled(landed: set[str]) -> list[tuple[tuple[str, int, int], str | None]]:
            lettered = {
                (
                    r.headers.get(dlq.ORIGINAL_TOPIC),
                    int(r.headers.get(dlq.ORIGINAL_PARTITION, -1)),
                    int(r.headers.get(dlq.ORIGINAL_OFFSET, -1)),
                )
                for r in letters.records
                if r.headers.get(dlq.REASON)
            }
            return [(where, eid) for where, eid in sent.items() if where not in lettered and eid not in landed]

        deadline = time.monotonic() + 60
        while True:
            landed = await _inbox(database_url, group)
            missing = settled(landed)
            if not missing and set(sentinels) <= landed:
                break
            assert time.monotonic() < deadline, (
                f"{len(missing)} of {len(sent)} records neither landed nor dead-lettered, e.g. {missing[:5]}; "
                f"sentinels landed: {sorted(set(sentinels) & landed)}"
            )
            await asyncio.sleep(0.5)
        # the app is still healthy, and every dead letter names its reason
        assert (await client.get("/health/ready")).status_code == 200
        assert all(r.headers.get(dlq.REASON) for r in letters.records)
        reasons = sorted({r.headers[dlq.REASON] for r in letters.records})
        print(f"{len(sent)} records, {len(letters.records)} dead letters; reasons {reasons}")
