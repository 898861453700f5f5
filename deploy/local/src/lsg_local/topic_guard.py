"""The guard that keeps tests off the topics `make run` uses (issue 23): an in-process aiokafka producer that
sends to a topic of the registry (or its dead-letter topic) on the shared broker is recorded; the root
conftest fails the test that did it."""

from __future__ import annotations

from typing import Any

import pytest


def _endpoints(servers: Any) -> set[tuple[str, str]]:
    """("127.0.0.1"|host, port) of a bootstrap list or comma-separated string; localhost names as 127.0.0.1."""
    items = servers.split(",") if isinstance(servers, str) else list(servers or ())
    out = set()
    for item in items:
        host, _, port = str(item).strip().rpartition(":")
        host = host.strip("[]")
        out.add(("127.0.0.1" if host in ("localhost", "::1", "") else host, port))
    return out


def registry_topics() -> frozenset[str]:
    from lsg_events import topics

    names = {t.name for t in topics.TOPICS}
    return frozenset(names | {topics.dlq_topic(n) for n in names})


class SharedTopicGuard:
    """Records every record an in-process aiokafka producer sends to a registry topic on the shared broker."""

    def __init__(self, shared_bootstrap: str) -> None:
        self.shared = _endpoints(shared_bootstrap)
        self.registry = registry_topics()
        self.hits: dict[str, int] = {}

    def check(self, producer: Any, topic: str) -> None:
        servers = getattr(getattr(producer, "client", None), "_bootstrap_servers", None)
        if topic in self.registry and _endpoints(servers) & self.shared:
            self.hits[topic] = self.hits.get(topic, 0) + 1

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aiokafka import AIOKafkaProducer

        send, send_batch = AIOKafkaProducer.send, AIOKafkaProducer.send_batch
        guard = self

        async def guarded_send(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
            guard.check(self, topic)
            return await send(self, topic, *args, **kwargs)

        async def guarded_send_batch(self: Any, batch: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
            guard.check(self, topic)
            return await send_batch(self, batch, topic, *args, **kwargs)

        monkeypatch.setattr(AIOKafkaProducer, "send", guarded_send)
        monkeypatch.setattr(AIOKafkaProducer, "send_batch", guarded_send_batch)
