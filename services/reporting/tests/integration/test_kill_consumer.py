"""SIGKILL the aggregating consumer at random points while it works through a programme year; restart it
each time. The final figures equal the oracle: nothing lost, nothing counted twice.

Event count: ``LSG_KILL_TEST_EVENTS`` (default 20 000 to stay within CI time; the full run uses 100 000).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from reporting_testkit import differences, oracle, produce, reset_topics, service_cells

from lsg_local.testing import unique
from lsg_reporting.domain.catalogue import load
from lsg_testkit.programme import generate

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = int(os.environ.get("LSG_KILL_TEST_EVENTS", "20000"))
MAX_KILLS = int(os.environ.get("LSG_KILL_TEST_KILLS", "6"))


async def _count(dsn: str, group: str) -> int:
    try:
        conn = await asyncpg.connect(dsn)
    except Exception:
        return -1
    try:
        return int(await conn.fetchval("SELECT count(*) FROM lsg_inbox WHERE consumer = $1", group))
    except asyncpg.UndefinedTableError:
        return -1
    finally:
        await conn.close()


@pytest.mark.timeout(1800)
async def test_sigkill_at_random_points_loses_and_doubles_nothing(
    private_kafka: str, database_url: str, tmp_path: Path
) -> None:
    await reset_topics(private_kafka)
    per_wave = max(260, int((EVENTS - 2700) / 3 / 1.05))
    programme = generate(seed=5, run=unique("kill"), respondents=(per_wave, per_wave, per_wave, 240))
    await produce(private_kafka, programme.events)
    group = unique("reporting")
    env = {
        **os.environ,
        "LSG_DATABASE_URL": database_url,
        "LSG_KAFKA_BOOTSTRAP": private_kafka,
        "LSG_CONSUMER_GROUP": group,
        "LSG_CONSUMER_MAX_RECORDS": "1000",
        "LSG_PUBLISH_INTERVAL_S": "1",
        "LSG_LOG_LEVEL": "WARNING",
        # static membership: the restarted consumer takes its partitions back without waiting for a rebalance
        "LSG_CONSUMER_INSTANCE_ID": f"{group}-0",
        "LSG_CONSUMER_SESSION_TIMEOUT_MS": "6000",
    }
    rng = random.Random(42)
    kills = 0
    started = time.monotonic()
    log = (tmp_path / "consumer.log").open("w")
    while True:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lsg_reporting", "consume"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            # Kill at a random moment while it is working: once it has made progress in this life.
            before = await _count(database_url, group)
            done = False
            while not done:
                count = await _count(database_url, group)
                if count > before or count >= programme.unique_events:
                    break
                done = proc.poll() is not None or time.monotonic() - started > 1500
                await asyncio.sleep(0.1)
            done = done or await _count(database_url, group) >= programme.unique_events
            deadline = time.monotonic() + rng.uniform(0.2, 3.0)
            while not done and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if kills >= MAX_KILLS or done:
                while (
                    await _count(database_url, group) < programme.unique_events
                    and proc.poll() is None
                    and time.monotonic() - started < 1500
                ):
                    await asyncio.sleep(0.25)
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
                break
            proc.send_signal(signal.SIGKILL)  # mid-batch, mid-transaction, mid-commit: wherever it is
            proc.wait(timeout=10)
            kills += 1
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    consumed = await _count(database_url, group)
    print(
        f"{programme.unique_events} distinct events ({len(programme.events)} records), {kills} SIGKILLs, "
        f"{time.monotonic() - started:.1f}s"
    )
    assert consumed == programme.unique_events, (tmp_path / "consumer.log").read_text()[-3000:]
    assert kills >= 2
    conn = await asyncpg.connect(database_url)
    try:
        live = await service_cells(conn, load(), UNTIL)
        dupes = await conn.fetchval(
            "SELECT count(*) FROM (SELECT source, event_id, code, corr_key, count(*) FROM fact "
            "GROUP BY 1, 2, 3, 4, tag, role, gender, country HAVING count(*) > 1) d"
        )
    finally:
        await conn.close()
    assert not differences(oracle(programme, UNTIL), live)[:20]
    assert dupes == 0
