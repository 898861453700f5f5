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
    # Kill points as fractions of the work, drawn once: each life is killed once it has made progress and passed
    # its point (wherever the consumer then is: mid-batch, mid-transaction, mid-commit). A random delay alone
    # let a fast consumer finish everything in its second life, so a run sometimes killed it only once.
    total = programme.unique_events
    width = 0.8 / MAX_KILLS  # one point in each of MAX_KILLS slices of 5 %-85 % of the work
    points = [total * rng.uniform(0.05 + i * width, 0.05 + (i + 0.6) * width) for i in range(MAX_KILLS)]
    kills = 0
    started = time.monotonic()
    log = (tmp_path / "consumer.log").open("w")
    while True:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lsg_reporting", "consume"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            before = await _count(database_url, group)
            point = points[kills] if kills < len(points) else None
            done = False
            while True:
                count = await _count(database_url, group)
                if count >= total:
                    done = True
                    break
                if point is not None and count > before and count >= point:
                    break
                if proc.poll() is not None or time.monotonic() - started > 1500:
                    done = True
                    break
                await asyncio.sleep(0.05)
            if done or point is None:
                while await _count(database_url, group) < total and proc.poll() is None:
                    if time.monotonic() - started > 1500:
                        break
                    await asyncio.sleep(0.25)
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
                break
            await asyncio.sleep(rng.uniform(0.0, 0.15))  # not always right after a commit
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
