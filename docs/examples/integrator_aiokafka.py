"""An integrator reads ``alert.raised`` and ``indicator.updated`` with plain aiokafka and the lsg-events models.

    pip install aiokafka ./clients/lsg-events
    LSG_KAFKA_BOOTSTRAP=127.0.0.1:29092 python docs/examples/integrator_aiokafka.py --max-events 20 --timeout 10

At least once: offsets are committed only after a record is handled, and a repeat (same CloudEvents ``source``
+ ``id``) is skipped. In production keep the seen ids in your own store, in the same transaction as your effect.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from lsg_events import AlertRaised, IndicatorUpdated, topics
from lsg_events.records import try_decode


def handle(event_data: object) -> str | None:
    """Your effect goes here; this one returns a line to print."""
    if isinstance(event_data, AlertRaised):
        a = event_data
        where = a.place.settlement.name.en if a.place.settlement else a.area_desc
        return f"alert.raised alert_id={a.alert_id} drill={a.drill} severity={a.severity} device={a.device_id} {where}"
    if isinstance(event_data, IndicatorUpdated):
        i = event_data
        return f"indicator.updated key={i.key} value={i.value} target={i.target} unit={i.unit}"
    return None  # other event types on these topics: ignore (new types may appear at any time)


async def consume(args: argparse.Namespace) -> int:
    consumer = AIOKafkaConsumer(
        *args.topic,
        bootstrap_servers=os.environ.get("LSG_KAFKA_BOOTSTRAP", "127.0.0.1:29092"),
        group_id=args.group,
        auto_offset_reset="earliest",  # a new group starts from the beginning (replay), then resumes
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: set[tuple[str, str]] = set()
    handled, last_record = 0, time.monotonic()
    try:
        while not args.max_events or handled < args.max_events:
            batches = await consumer.getmany(timeout_ms=500, max_records=100)
            if not batches:
                if args.timeout and time.monotonic() - last_record > args.timeout:
                    break
                continue
            last_record = time.monotonic()
            for tp, records in batches.items():
                for record in records:
                    if args.max_events and handled >= args.max_events:
                        break
                    event, problem = try_decode(record)
                    if event is None:
                        print(f"skipped {record.topic}[{record.partition}]@{record.offset}: {problem}", file=sys.stderr)
                    elif (event.source, event.id) not in seen:
                        seen.add((event.source, event.id))
                        line = handle(event.data)
                        if line:
                            print(line, flush=True)
                            handled += 1
                    # Commit after the effect: a crash before this line means the record comes again.
                    await consumer.commit({TopicPartition(tp.topic, tp.partition): record.offset + 1})
    finally:
        await consumer.stop()
    return 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", action="append", help="repeatable (default: the alerts and indicators topics)")
    parser.add_argument("--group", default=os.environ.get("LSG_GROUP_ID", "example-integrator-aiokafka"))
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many handled events (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
    args = parser.parse_args()
    args.topic = args.topic or [topics.ALERTS, topics.INDICATORS]
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(consume(arguments())))
