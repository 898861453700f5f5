"""What a partner system does: sign with its HMAC secret, write CAP 1.2 (JSON form), send heartbeats.

The signature scheme is the alerts service's published contract (HTTP headers ``X-LSG-Timestamp`` and
``X-LSG-Signature: v1=<hex HMAC-SHA256 of timestamp + "." + body>``; on the partner topic the same values in
``x-lsg-*`` record headers, with ``x-lsg-partner`` and ``x-lsg-kind``). Implemented here from the contract,
not imported from the service: the simulator is a stranger that only knows the public doors.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

DEVICE_PARAMETER = "deviceId"
PARTNER_TOPIC = "lsg.partner.input.v1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def http_headers(secret: str, body: bytes, content_type: str = "application/json") -> dict[str, str]:
    ts = str(int(time.time()))
    return {"content-type": content_type, "x-lsg-timestamp": ts, "x-lsg-signature": sign(secret, ts, body)}


def kafka_headers(partner_id: str, secret: str, body: bytes, kind: str) -> list[tuple[str, bytes]]:
    ts = str(int(time.time()))
    return [
        ("x-lsg-partner", partner_id.encode()),
        ("x-lsg-timestamp", ts.encode()),
        ("x-lsg-signature", sign(secret, ts, body).encode()),
        ("x-lsg-kind", kind.encode()),
        ("content-type", b"application/json" if kind == "heartbeat" else b"application/cap+json"),
    ]


def cap_time(moment: datetime | None = None) -> str:
    """CAP date-time: seconds, numeric offset (CAP forbids 'Z')."""
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def cap_alert(
    *,
    identifier: str,
    sender: str,
    sent: str,
    device_id: str | None,
    category: str,
    event: str,
    urgency: str,
    severity: str,
    certainty: str,
    headline: str,
    description: str,
    instruction: str,
    area_desc: str,
    language: str,
    status: str = "Actual",
    msg_type: str = "Alert",
    references: str | None = None,
    note: str | None = None,
    expires: str | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "language": language,
        "category": [category],
        "event": event,
        "responseType": ["Prepare"]
        if severity in ("Moderate", "Minor")
        else ["Shelter"]
        if category == "Met"
        else ["Evacuate"]
        if category == "Fire"
        else ["Monitor"],
        "urgency": urgency,
        "severity": severity,
        "certainty": certainty,
        "headline": headline,
        "description": description,
        "instruction": instruction,
        "area": [{"areaDesc": area_desc}],
    }
    if expires:
        info["expires"] = expires
    if device_id:
        info["parameter"] = [{"valueName": DEVICE_PARAMETER, "value": device_id}]
    alert: dict[str, Any] = {
        "identifier": identifier,
        "sender": sender,
        "sent": sent,
        "status": status,
        "msgType": msg_type,
        "scope": "Public",
    }
    if references:
        alert["references"] = references
    if note:
        alert["note"] = note
    alert["info"] = [info]
    return {"alert": alert}


def heartbeat(device_id: str, partner_id: str, *, battery_pct: float, signal_dbm: float) -> bytes:
    return json.dumps(
        {
            "device_id": device_id,
            "partner_id": partner_id,
            "sent_at": datetime.now(UTC).isoformat(),
            "battery_pct": round(battery_pct, 1),
            "signal_dbm": round(signal_dbm, 1),
            "tamper": False,
        }
    ).encode()
