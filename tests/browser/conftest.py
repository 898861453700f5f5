"""Browser-test fixtures: Debian's Chromium (installed with apt-get when missing), never a downloaded browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; installed as root with apt-get if missing. Skips only when the install fails."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("chromium is missing and this user may not run apt-get (not root, no sudo)")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [[*prefix, "apt-get", "update"], [*prefix, "apt-get", "install", "-y", "chromium"]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900, check=False)
        if done.returncode != 0 and step[-1] == "chromium":
            pytest.skip(f"apt-get install chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM


# The reporting service consumes the registry's topics, whose names a test cannot make unique: on the shared
# broker `make run`'s reporting would consume the test's events. So the dashboard test publishes to a PRIVATE
# broker of its own (free ports, a fresh folder), as the reporting tests and the demo test do; not theirs, which
# another test session on this machine may stop while this one runs.
@pytest.fixture(scope="session")
def reporting_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from lsg_local.kafka import KafkaProcess
    from lsg_local.testing import free_ports

    base = tmp_path_factory.mktemp("browser-kafka")
    port, controller = free_ports(2)
    kafka = KafkaProcess(
        port,
        controller,
        base / "data",
        base / "logs",
        heap="512m",
        extra_properties={"group.initial.rebalance.delay.ms": "0"},
    )
    kafka.start(timeout=180)
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop()


@pytest.fixture
def reporting_group(reporting_kafka: str) -> str:
    """A fresh consumer group committed at the end of the reporting service's topics (created here), so the
    service reads only what the test publishes after this."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from lsg_events import topics
    from lsg_local.testing import unique
    from lsg_shared.kafka import ensure_topics
    from lsg_shared.settings import KafkaSettings

    group = unique("reporting-dashboard")
    consumed = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)

    async def commit_at_end() -> None:
        await ensure_topics(KafkaSettings(bootstrap=reporting_kafka), topics.TOPICS)
        consumer = AIOKafkaConsumer(bootstrap_servers=reporting_kafka, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            # Topics just created may not be in the metadata yet: ask until each of them has its partitions.
            for _ in range(60):
                metadata = await consumer._client.fetch_all_metadata()
                if all(metadata.partitions_for_topic(t) for t in consumed):
                    break
                await asyncio.sleep(0.5)
            tps = [TopicPartition(t, p) for t in consumed for p in sorted(metadata.partitions_for_topic(t) or ())]
            assert len({tp.topic for tp in tps}) == len(consumed), f"topics without partitions: {consumed}"
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            await consumer.commit({tp: await consumer.position(tp) for tp in tps})
        finally:
            await consumer.stop()

    asyncio.run(commit_at_end())
    return group
