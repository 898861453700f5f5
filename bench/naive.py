"""Scenario 3's naive peer: the reporting aggregation written the textbook way.

One FastStream handler call per record and one PostgreSQL transaction per event: decode the CloudEvent,
claim it in the same inbox table (``lsg_inbox``), apply the reporting service's own fact extraction and
upsert for that single event (``Aggregator.handle``), commit; FastStream commits the offset after the
handler returns (``AckPolicy.NACK_ON_ERROR``, the same guarantee as the service). Same topics, same
database schema (the service's migrations and catalogue), same logic: only the per-event handler and
transaction differ. No dead-letter topic: the generated records are all valid.

    LSG_DATABASE_URL=... LSG_KAFKA_BOOTSTRAP=... LSG_CONSUMER_GROUP=... python -m bench.naive
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from lsg_events import EVENT_TYPES
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_reporting.adapters import postgres as repo
from lsg_reporting.application.aggregation import CONSUMED_TOPICS, Aggregator
from lsg_reporting.domain import catalogue as catalogue_mod
from lsg_reporting.domain.rules import Extractor
from lsg_reporting.settings import ReportingSettings
from lsg_shared import db, inbox, migrate


async def _raw(message: Any) -> Any:
    return message.body


async def main() -> int:
    settings = ReportingSettings()
    group = settings.consumer_group
    catalogue = catalogue_mod.load(settings.catalogue_path)
    aggregator = Aggregator(Extractor(catalogue))
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate.apply(conn, migrate.for_service("lsg_reporting"))
        await repo.upsert_catalogue(conn, catalogue)

    logging.basicConfig(level=logging.WARNING)
    # FastStream logs every message at INFO by default; the service logs them at DEBUG, and so does the peer.
    broker = KafkaBroker(settings.kafka.bootstrap, log_level=logging.DEBUG)

    @broker.subscriber(  # type: ignore[untyped-decorator]
        *CONSUMED_TOPICS,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw,
    )
    async def on_event(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)
        try:
            event = from_kafka(record.value, record.headers, EVENT_TYPES)
        except PoisonMessage:
            return
        async with pool.acquire() as conn, conn.transaction():
            if await inbox.claim(conn, group, event):
                await aggregator.handle(conn, event)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.stop()
        await pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
