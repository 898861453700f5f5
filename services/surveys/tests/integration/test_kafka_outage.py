"""Kafka outage: responses are still accepted while the broker is down, and every event is delivered exactly
once after it returns. Runs on a private single-node Kafka (ports 29892/29893) so the shared ones are untouched."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from surveys_support import ADMIN, EDITOR, auth, response_body, settings, survey_body

from lsg_events import topics
from lsg_local import testing
from lsg_local._proc import port_open
from lsg_local.kafka import KafkaProcess
from lsg_surveys.entrypoints.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

PORT, CONTROLLER_PORT = 29892, 29893


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[KafkaProcess]:
    kafka = KafkaProcess(PORT, CONTROLLER_PORT, tmp_path / "kafka-data", tmp_path / "kafka-logs", heap="384m")
    # A broker of an earlier run may still be releasing its ports: give it a moment rather than fail at once.
    deadline = time.monotonic() + 30
    while (port_open(PORT) or port_open(CONTROLLER_PORT)) and time.monotonic() < deadline:
        time.sleep(1)
    kafka.start(timeout=120)
    try:
        yield kafka
    finally:
        kafka.stop()


async def pending(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL")
        return n
    finally:
        await conn.close()


async def wait_drained(dsn: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pending(dsn) == 0:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"outbox not drained after {timeout}s: {await pending(dsn)} rows pending")


async def test_responses_accepted_during_outage_and_delivered_once(
    database_url: str, private_kafka: KafkaProcess
) -> None:
    cid = testing.unique("outage")
    app = create_app(settings(database_url, private_kafka.bootstrap))
    async with testing.running_app(app) as client:
        await testing.wait_ready(client, timeout=90)
        assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
        assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200

        async def post(i: int) -> Any:
            body = response_body(i, submission_id=f"{cid}-{i}")
            return await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=auth(EDITOR))

        for i in range(10):
            assert (await post(i)).status_code == 201
        await wait_drained(database_url, 30)

        await asyncio.to_thread(private_kafka.stop)
        for i in range(10, 40):
            r = await post(i)
            assert r.status_code == 201, r.text  # stored, its event waits in the outbox
        batch = [response_body(i, submission_id=f"{cid}-{i}") for i in range(40, 60)]
        r = await client.post(f"/v1/campaigns/{cid}/responses/batch", json={"responses": batch}, headers=auth(EDITOR))
        assert r.status_code == 201
        assert (await client.get("/health/live")).status_code == 200
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["kafka"]["ok"] is False
        assert await pending(database_url) > 0

        await asyncio.to_thread(private_kafka.start, 120)
        await wait_drained(database_url, 120)
        assert (await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))).status_code == 200
        await wait_drained(database_url, 30)

    async with testing.collect(private_kafka.bootstrap, topics.SURVEYS) as collector:
        await collector.wait_for(
            lambda c: sum(1 for r in c.records if r.key == cid.encode()) >= 62, timeout=60, message="62 events"
        )
        await asyncio.sleep(3)  # a duplicate delivery would show up by now
        mine = [r for r in collector.records if r.key == cid.encode()]
    assert all(r.event is not None for r in mine)
    ids = Counter(r.headers["ce_id"] for r in mine)
    assert len(mine) == 62, Counter(r.headers["ce_type"] for r in mine)
    assert max(ids.values()) == 1  # each event exactly once
    types = Counter(r.headers["ce_type"] for r in mine)
    assert types == {
        "lv.lsg.survey.opened.v1": 1,
        "lv.lsg.survey.response.recorded.v1": 60,
        "lv.lsg.survey.completed.v1": 1,
    }
    completed = next(r.event for r in mine if r.headers["ce_type"] == "lv.lsg.survey.completed.v1")
    assert completed is not None
    assert completed.data.respondents == 60  # type: ignore[attr-defined]
