"""An integrator reads ``alert.raised`` and ``indicator.updated`` with FastStream and the lsg-events models.

    pip install "faststream[kafka]" ./clients/lsg-events
    LSG_KAFKA_BOOTSTRAP=127.0.0.1:29092 python docs/examples/integrator_faststream.py --max-events 20 --timeout 10

The handler takes the raw record and decodes it with ``lsg_events.records`` (the ``ce_type`` header picks the
model), so a record it does not understand is logged and skipped instead of failing in FastStream's decoder.
``AckPolicy.NACK_ON_ERROR`` commits the offset only after the handler returned: if your effect raises, the record
comes again (at least once); a repeat (same CloudEvents ``source`` + ``id``) is skipped. In a long-running
service, wrap the broker in ``FastStream(broker)`` and start it with ``faststream run``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from lsg_events import AlertRaised, IndicatorUpdated, topics
from lsg_events.records import try_decode

log = logging.getLogger("integrator")


class Progress:
    def __init__(self) -> None:
        self.handled = 0
        self.last_record = time.monotonic()
        self.seen: set[tuple[str, str]] = set()  # in production: a table, written in your effect's transaction


async def raw_body(message: Any) -> Any:
    return message.body  # keep the bytes: lsg_events decodes them (see the module docstring)


def build_broker(topic_names: list[str], group_id: str, progress: Progress) -> KafkaBroker:
    broker = KafkaBroker(os.environ.get("LSG_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), logger=log)

    @broker.subscriber(
        *topic_names,
        group_id=group_id,
        auto_offset_reset="earliest",  # a new group starts from the beginning (replay), then resumes
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
    )
    async def on_record(message: KafkaMessage) -> None:
        progress.last_record = time.monotonic()
        event, problem = try_decode(message)
        if event is None:
            log.warning("skipped an undecodable record: %s", problem)
            return
        if (event.source, event.id) in progress.seen:
            return
        progress.seen.add((event.source, event.id))
        data = event.data
        if isinstance(data, AlertRaised):
            where = data.place.settlement.name.en if data.place.settlement else data.area_desc
            print(
                f"alert.raised alert_id={data.alert_id} drill={data.drill} severity={data.severity}"
                f" device={data.device_id} {where}"
            )
        elif isinstance(data, IndicatorUpdated):
            print(f"indicator.updated key={data.key} value={data.value} target={data.target} unit={data.unit}")
        else:
            return  # other event types on these topics: ignore (new types may appear at any time)
        sys.stdout.flush()
        progress.handled += 1

    return broker


async def main(args: argparse.Namespace) -> int:
    progress = Progress()
    broker = build_broker(args.topic, args.group, progress)
    async with broker:
        await broker.start()
        while not args.max_events or progress.handled < args.max_events:
            if args.timeout and time.monotonic() - progress.last_record > args.timeout:
                break
            await asyncio.sleep(0.1)
    return 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", action="append", help="repeatable (default: the alerts and indicators topics)")
    parser.add_argument("--group", default=os.environ.get("LSG_GROUP_ID", "example-integrator-faststream"))
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many handled events (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
    args = parser.parse_args()
    args.topic = args.topic or [topics.ALERTS, topics.INDICATORS]
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(main(arguments())))
