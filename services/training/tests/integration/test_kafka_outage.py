"""Kafka down: attendance is still accepted (the outbox keeps the events), and the completion is told once the
broker is back. Runs on a PRIVATE broker (ports 29292/29293), never the shared one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import training_support as ts

from lsg_events import TrainingCompleted, topics
from lsg_local.kafka import KafkaProcess
from lsg_local.testing import collect, running_app, unique, wait_ready
from lsg_shared.settings import KafkaSettings
from lsg_training.entrypoints.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


async def _pending(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL"))
    finally:
        await conn.close()


async def test_check_in_during_outage_is_told_after(tmp_path: Path, database_url: str) -> None:
    kafka = KafkaProcess(29292, 29293, tmp_path / "kafka", tmp_path / "logs")
    kafka.start()
    try:
        settings = ts.settings(database_url, kafka.bootstrap)
        settings.kafka = KafkaSettings(bootstrap=kafka.bootstrap, topic_replication_factor=1)
        async with running_app(create_app(settings)) as client:
            await wait_ready(client)
            pid, sessions = await ts.setup_programme(client, unique("outage"))
            body = {"full_name": "Ņina Ēķe", "role": "elder", "country": "LV", "place": ts.PLACE_LV}
            person = (await client.post(f"/v1/participants?programme_id={pid}", json=body, headers=ts.E)).json()["id"]
            ordered = list(sessions.values())
            for sid in ordered[:-1]:
                r = await client.post(f"/v1/sessions/{sid}/attendance", json={"participant_id": person}, headers=ts.E)
                assert r.status_code == 201

            kafka.stop()
            r = await client.post(
                f"/v1/sessions/{ordered[-1]}/attendance", json={"participant_id": person}, headers=ts.E
            )
            assert r.status_code == 201, r.text
            assert r.json()["events"] == 2  # M4 attended and the programme completed, both waiting in the outbox
            assert (await client.get("/health/live")).status_code == 200
            await asyncio.sleep(2)
            assert await _pending(database_url) >= 2

            kafka.start()
            deadline = time.monotonic() + 90
            while await _pending(database_url) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            assert await _pending(database_url) == 0
            await wait_ready(client)
        async with collect(kafka.bootstrap, topics.TRAINING) as events:
            await events.wait_count(TrainingCompleted.event_type, 1)
            await asyncio.sleep(1)
        completed: list[Any] = events.events(TrainingCompleted.event_type)
        assert len(completed) == 1
        assert completed[0].data.programme_id == pid
    finally:
        kafka.stop()
