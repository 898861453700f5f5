"""A partner publishes one signed CAP 1.2 alert on the partner topic (aiokafka). See docs/partners.md.

The record is not a CloudEvent: value = the CAP alert (JSON here; CAP XML works too), key = the device id,
headers ``x-lsg-partner``, ``x-lsg-timestamp``, ``x-lsg-signature`` (the HTTP scheme: ``v1=<hex HMAC-SHA256 of
timestamp + "." + value>``), ``x-lsg-kind: alert`` and ``content-type``. There is no synchronous answer: a
refused record goes to ``lsg.partner.input.v1.dlq`` with the reason in ``x-lsg-dlq-reason``.

Env: LSG_KAFKA_BOOTSTRAP, LSG_PARTNER_ID, LSG_PARTNER_SECRET, LSG_DEVICE_ID, LSG_CAP_STATUS (default ``Test``).
"""

import asyncio
import hashlib
import hmac
import json
import os
import time
import uuid

from aiokafka import AIOKafkaProducer

PARTNER_TOPIC = "lsg.partner.input.v1"


def cap_alert(device_id: str, status: str) -> dict:
    return {
        "alert": {
            "identifier": os.environ.get("LSG_CAP_IDENTIFIER", f"test-{uuid.uuid4()}"),
            "sender": "ops@partner.example",
            "sent": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),  # CAP wants "+00:00", never "Z"
            "status": status,
            "msgType": "Alert",
            "scope": "Public",
            "info": [
                {
                    "category": ["Safety"],
                    "event": "Siren test",
                    "urgency": "Immediate",
                    "severity": "Severe",
                    "certainty": "Observed",
                    "headline": "Test alert over Kafka",
                    "parameter": [{"valueName": "deviceId", "value": device_id}],
                    "area": [{"areaDesc": "Test area"}],
                }
            ],
        }
    }


async def main() -> None:
    env = os.environ
    partner_id, secret, device_id = env["LSG_PARTNER_ID"], env["LSG_PARTNER_SECRET"], env["LSG_DEVICE_ID"]
    doc = cap_alert(device_id, env.get("LSG_CAP_STATUS", "Test"))
    value = json.dumps(doc).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + value, hashlib.sha256).hexdigest()
    headers = [
        ("x-lsg-partner", partner_id.encode()),
        ("x-lsg-timestamp", timestamp.encode()),
        ("x-lsg-signature", f"v1={signature}".encode()),
        ("x-lsg-kind", b"alert"),
        ("content-type", b"application/cap+json"),
    ]
    producer = AIOKafkaProducer(
        bootstrap_servers=env.get("LSG_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        meta = await producer.send_and_wait(PARTNER_TOPIC, value, key=device_id.encode(), headers=headers)
    finally:
        await producer.stop()
    print(f"published {doc['alert']['identifier']} to {meta.topic}[{meta.partition}]@{meta.offset} key={device_id}")


if __name__ == "__main__":
    asyncio.run(main())
