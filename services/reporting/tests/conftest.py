"""Fixtures of the reporting tests: a PRIVATE Kafka broker (ports 29492/29493) so that figures computed
from "every event on the topics" are not mixed with other engineers' events on the shared broker."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lsg_local.kafka import KafkaProcess
from lsg_testkit.tokens import api_tokens, bearer, grant

# LSG_REPORTING_TEST_KAFKA_PORT: another port (and so another broker) when several runs share a machine.
PRIVATE_PORT = int(os.environ.get("LSG_REPORTING_TEST_KAFKA_PORT", "29492"))
ADMIN, EDITOR, VIEWER = "rep-admin-token", "rep-editor-token", "rep-viewer-token"
AUTH = {r: bearer(t) for r, t in (("admin", ADMIN), ("editor", EDITOR), ("viewer", VIEWER))}
TOKENS = api_tokens(
    grant(ADMIN, "ops", ["admin"]), grant(EDITOR, "lps-editor", ["editor"]), grant(VIEWER, "funder", ["viewer"])
)


@pytest.fixture(scope="session")
def private_kafka() -> Iterator[str]:
    # A fixed directory: a broker left over by an interrupted run is reused instead of blocking the port.
    base = Path(tempfile.gettempdir()) / (
        "lsg-reporting-test-kafka" if PRIVATE_PORT == 29492 else f"lsg-reporting-test-kafka-{PRIVATE_PORT}"
    )
    kafka = KafkaProcess(
        PRIVATE_PORT,
        PRIVATE_PORT + 1,
        base / "data",
        base / "logs",
        heap="768m",
        extra_properties={"log.segment.bytes": str(64 * 1024 * 1024), "group.initial.rebalance.delay.ms": "0"},
    )
    kafka.start(timeout=180)
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop()
