"""Read the suite's records with the official CloudEvents Python SDK's Kafka binding: our headers are standard.

    pip install aiokafka cloudevents
    LSG_KAFKA_BOOTSTRAP=127.0.0.1:29092 python docs/examples/integrator_cloudevents.py --max-events 20 --timeout 10

No lsg-events package is needed: ``cloudevents.core.bindings.kafka.from_binary_event`` turns the ``ce_*`` headers,
``content-type`` and the record key into a CloudEvent whose data is the JSON object (``docs/schemas/<type>.json``
describes it). Prints ``type source id partitionkey`` per event; exits 1 if any record failed to parse.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

ALERTS, INDICATORS = "lsg.alerts.events.v1", "lsg.reporting.indicators.v1"


async def consume(args: argparse.Namespace) -> int:
    consumer = AIOKafkaConsumer(
        *args.topic,
        bootstrap_servers=os.environ.get("LSG_KAFKA_BOOTSTRAP", "127.0.0.1:29092"),
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,  # a viewer, not a processor: see integrator_aiokafka.py for commit-after-effect
    )
    await consumer.start()
    seen: set[tuple[str, str]] = set()
    count, failures, last_record = 0, 0, time.monotonic()
    try:
        while not args.max_events or count < args.max_events:
            batches = await consumer.getmany(timeout_ms=500, max_records=100)
            if not batches:
                if args.timeout and time.monotonic() - last_record > args.timeout:
                    break
                continue
            last_record = time.monotonic()
            for record in (r for records in batches.values() for r in records):
                if args.max_events and count >= args.max_events:
                    break
                message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
                try:
                    event = from_binary_event(message)
                except Exception as exc:  # an off-contract record: report it and go on
                    failures += 1
                    print(f"FAILED {record.topic}[{record.partition}]@{record.offset}: {exc!r}", file=sys.stderr)
                    continue
                if (event.get_source(), event.get_id()) in seen:
                    continue  # at-least-once delivery: source + id identify an event
                seen.add((event.get_source(), event.get_id()))
                data = event.get_data()
                assert isinstance(data, dict)  # content-type application/json: the SDK parsed it
                print(
                    event.get_type(),
                    event.get_source(),
                    event.get_id(),
                    event.get_extension("partitionkey"),
                    flush=True,
                )
                count += 1
    finally:
        await consumer.stop()
    return 1 if failures else 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", action="append", help="repeatable (default: the alerts and indicators topics)")
    parser.add_argument("--group", default=os.environ.get("LSG_GROUP_ID", "example-integrator-cloudevents"))
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many events (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
    args = parser.parse_args()
    args.topic = args.topic or [ALERTS, INDICATORS]
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(consume(arguments())))
