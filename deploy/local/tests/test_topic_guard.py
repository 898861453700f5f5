"""The guard that keeps tests off `make run`'s topics (issue 23): a send to a registry topic on the shared
broker is recorded, a send to a unique topic or to a private broker is not. No record is really sent."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from lsg_events import topics
from lsg_local.testing import unique
from lsg_local.topic_guard import SharedTopicGuard

pytestmark = pytest.mark.unit


async def test_the_guard_records_registry_topics_on_the_shared_broker_only(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []

    async def fake_send(self: Any, topic: str, *args: Any, **kwargs: Any) -> None:
        sent.append(topic)

    async def fake_send_batch(self: Any, batch: Any, topic: str, *args: Any, **kwargs: Any) -> None:
        sent.append(topic)

    monkeypatch.setattr(AIOKafkaProducer, "send", fake_send)
    monkeypatch.setattr(AIOKafkaProducer, "send_batch", fake_send_batch)
    guard = SharedTopicGuard("127.0.0.1:29092")
    guard.install(monkeypatch)

    shared = AIOKafkaProducer(bootstrap_servers="localhost:29092")
    private = AIOKafkaProducer(bootstrap_servers="127.0.0.1:29492")
    await shared.send(unique("lsg.test.guard"), b"x")  # a unique topic on the shared broker: fine
    await private.send(topics.SURVEYS, b"x")  # the registry's topic on a private broker: fine
    assert guard.hits == {}
    await shared.send(topics.SURVEYS, b"x")
    await shared.send_batch(None, topics.dlq_topic(topics.PARTNER_INPUT))
    assert guard.hits == {topics.SURVEYS: 1, topics.dlq_topic(topics.PARTNER_INPUT): 1}
    assert len(sent) == 4  # the guard records, the send goes on (the test fails at its teardown)
