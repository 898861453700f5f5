"""What a partner system sends to the alerts service: CAP 1.2 documents, heartbeats, and their HMAC signature.

The signature scheme (the alerts service's published contract, see docs/partners.md):
``X-LSG-Timestamp: <Unix seconds>`` and ``X-LSG-Signature: v1=<hex HMAC-SHA256 of timestamp + "." + raw body>``,
keyed with the partner's secret. Over HTTP these are request headers (:func:`signed_headers`) on
``POST /v1/partners/{partner_id}/alerts`` and ``.../heartbeats``; on the partner topic
(``lsg_events.topics.PARTNER_INPUT``, key = the device id) the same values go in ``x-lsg-*`` record headers
with ``x-lsg-partner`` and ``x-lsg-kind`` (:func:`kafka_headers`). Sign the exact bytes you send.

Standard library only.

    doc = cap_alert(identifier="A-1", sender="vendor@example.org",
                    info=cap_info(category="Fire", event="Fire alarm", urgency="Immediate", severity="Extreme",
                                  certainty="Observed", area_desc="Nirza", device_id="dev-1"))
    body = cap_json(doc)
    httpx.post(f"{url}/v1/partners/{partner}/alerts", content=body, headers=signed_headers(secret, body))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "CAP_NS",
    "DEVICE_PARAMETER",
    "SIGNATURE_SCHEME",
    "cap_alert",
    "cap_info",
    "cap_json",
    "cap_time",
    "cap_xml",
    "heartbeat",
    "kafka_headers",
    "sign",
    "signed_headers",
    "xml_elements",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
"""The CAP 1.2 XML namespace (the root element is ``{CAP_NS}alert``)."""
DEVICE_PARAMETER = "deviceId"
"""The ``info.parameter`` value name that names the installed device an alert comes from."""
SIGNATURE_SCHEME = "v1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-LSG-Signature`` value: ``v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}={mac.hexdigest()}"


def _timestamp(timestamp: int | None) -> str:
    return str(int(time.time()) if timestamp is None else timestamp)


def signed_headers(
    secret: str, body: bytes, *, content_type: str = "application/json", timestamp: int | None = None
) -> dict[str, str]:
    """HTTP headers of a signed request: content type, ``x-lsg-timestamp`` (now unless given), ``x-lsg-signature``."""
    ts = _timestamp(timestamp)
    return {"content-type": content_type, "x-lsg-timestamp": ts, "x-lsg-signature": sign(secret, ts, body)}


def kafka_headers(
    partner_id: str,
    secret: str,
    body: bytes,
    *,
    kind: str = "alert",
    content_type: str | None = None,
    timestamp: int | None = None,
) -> list[tuple[str, bytes]]:
    """Record headers of a signed partner-topic record. `kind` is ``alert`` or ``heartbeat``; the content type
    defaults to ``application/json`` for a heartbeat and ``application/cap+json`` for an alert."""
    ts = _timestamp(timestamp)
    if content_type is None:
        content_type = "application/json" if kind == "heartbeat" else "application/cap+json"
    return [
        ("x-lsg-partner", partner_id.encode()),
        ("x-lsg-timestamp", ts.encode()),
        ("x-lsg-signature", sign(secret, ts, body).encode()),
        ("x-lsg-kind", kind.encode()),
        ("content-type", content_type.encode()),
    ]


def cap_time(moment: datetime | None = None) -> str:
    """CAP date-time: seconds precision, numeric offset (CAP forbids 'Z'); now unless given."""
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def cap_info(
    *,
    category: str,
    event: str,
    urgency: str,
    severity: str,
    certainty: str,
    area_desc: str,
    language: str | None = None,
    response_type: Sequence[str] | None = None,
    expires: str | None = None,
    headline: str | None = None,
    description: str | None = None,
    instruction: str | None = None,
    device_id: str | None = None,
) -> dict[str, Any]:
    """One CAP ``info`` block, its elements in the order CAP 1.2 prescribes (the XML form keeps it)."""
    info: dict[str, Any] = {}
    if language:
        info["language"] = language
    info["category"] = [category]
    info["event"] = event
    if response_type:
        info["responseType"] = list(response_type)
    info.update(urgency=urgency, severity=severity, certainty=certainty)
    for name, value in (
        ("expires", expires),
        ("headline", headline),
        ("description", description),
        ("instruction", instruction),
    ):
        if value:
            info[name] = value
    if device_id:
        info["parameter"] = [{"valueName": DEVICE_PARAMETER, "value": device_id}]
    info["area"] = [{"areaDesc": area_desc}]
    return info


def cap_alert(
    *,
    identifier: str,
    sender: str,
    sent: str | None = None,
    status: str = "Actual",
    msg_type: str = "Alert",
    scope: str = "Public",
    note: str | None = None,
    references: str | None = None,
    info: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A CAP 1.2 alert as ``{"alert": {...}}`` (the JSON form; :func:`cap_xml` renders the XML form).

    `sent` defaults to now; `references` is ``"sender,identifier,sent"`` of earlier alerts (space-separated) for
    an Update or Cancel; `info` is one :func:`cap_info` block or several."""
    alert: dict[str, Any] = {
        "identifier": identifier,
        "sender": sender,
        "sent": sent or cap_time(),
        "status": status,
        "msgType": msg_type,
        "scope": scope,
    }
    if note:
        alert["note"] = note
    if references:
        alert["references"] = references
    if info is not None:
        alert["info"] = [info] if isinstance(info, dict) else list(info)
    return {"alert": alert}


def cap_json(document: dict[str, Any]) -> bytes:
    """The JSON form (``application/cap+json``) of a :func:`cap_alert` document."""
    return json.dumps(document).encode()


def xml_elements(name: str, value: Any) -> str:
    """`value` as CAP XML elements named `name`: a list repeats the element, a dict nests, text is escaped."""
    if isinstance(value, list):
        return "".join(xml_elements(name, v) for v in value)
    if isinstance(value, dict):
        inner = "".join(xml_elements(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def cap_xml(document: dict[str, Any]) -> bytes:
    """The XML form (``application/cap+xml``, namespace :data:`CAP_NS`) of a :func:`cap_alert` document."""
    inner = "".join(xml_elements(k, v) for k, v in document["alert"].items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="{CAP_NS}">{inner}</alert>'.encode()


def heartbeat(
    device_id: str,
    partner_id: str,
    *,
    battery_pct: float | None = None,
    signal_dbm: float | None = None,
    tamper: bool = False,
    sent_at: datetime | str | None = None,
    **extra: Any,
) -> bytes:
    """A device heartbeat body (``application/json``). `sent_at` (now unless given) orders readings: only the
    newest a device sent counts. `extra` adds or replaces fields."""
    moment = sent_at if isinstance(sent_at, str) else (sent_at or datetime.now(UTC)).isoformat()
    body: dict[str, Any] = {
        "device_id": device_id,
        "partner_id": partner_id,
        "sent_at": moment,
        "battery_pct": battery_pct,
        "signal_dbm": signal_dbm,
        "tamper": tamper,
        **extra,
    }
    return json.dumps(body).encode()
