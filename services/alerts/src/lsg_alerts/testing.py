"""What a partner (and the tests and benchmark) needs to talk to the doors: CAP builders and signatures."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from lsg_alerts.domain.cap import CAP_NS, DEVICE_PARAMETER
from lsg_alerts.domain.signing import sign


def cap_time(moment: datetime | None = None) -> str:
    """CAP date-time: seconds precision, numeric offset (CAP forbids 'Z')."""
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def cap_dict(
    *,
    identifier: str,
    sender: str = "vendor@example.org",
    sent: str | None = None,
    status: str = "Actual",
    msg_type: str = "Alert",
    scope: str = "Public",
    references: str | None = None,
    device_id: str | None = None,
    category: str = "Fire",
    event: str = "Fire alarm",
    urgency: str = "Immediate",
    severity: str = "Extreme",
    certainty: str = "Observed",
    headline: str | None = "Fire alarm",
    area_desc: str = "Village",
    expires: str | None = None,
    with_info: bool = True,
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "identifier": identifier,
        "sender": sender,
        "sent": sent or cap_time(),
        "status": status,
        "msgType": msg_type,
        "scope": scope,
    }
    if references:
        alert["references"] = references
    if with_info:
        info: dict[str, Any] = {
            "category": [category],
            "event": event,
            "urgency": urgency,
            "severity": severity,
            "certainty": certainty,
        }
        if expires:
            info["expires"] = expires
        if headline:
            info["headline"] = headline
        if device_id:
            info["parameter"] = [{"valueName": DEVICE_PARAMETER, "value": device_id}]
        info["area"] = [{"areaDesc": area_desc}]
        alert["info"] = [info]
    return {"alert": alert}


def cap_json(**kwargs: Any) -> bytes:
    return json.dumps(cap_dict(**kwargs)).encode()


def _xml_elems(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_xml_elems(name, v) for v in value)
    if isinstance(value, dict):
        inner = "".join(_xml_elems(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def cap_xml(**kwargs: Any) -> bytes:
    alert = cap_dict(**kwargs)["alert"]
    inner = "".join(_xml_elems(k, v) for k, v in alert.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="{CAP_NS}">{inner}</alert>'.encode()


def reference(sender: str, identifier: str, sent: str) -> str:
    return f"{sender},{identifier},{sent}"


def signed_headers(
    secret: str, body: bytes, *, content_type: str = "application/json", timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"content-type": content_type, "x-lsg-timestamp": ts, "x-lsg-signature": sign(secret, ts, body)}


def kafka_headers(
    partner_id: str,
    secret: str,
    body: bytes,
    *,
    kind: str = "alert",
    content_type: str = "application/cap+json",
    timestamp: int | None = None,
) -> list[tuple[str, bytes]]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return [
        ("x-lsg-partner", partner_id.encode()),
        ("x-lsg-timestamp", ts.encode()),
        ("x-lsg-signature", sign(secret, ts, body).encode()),
        ("x-lsg-kind", kind.encode()),
        ("content-type", content_type.encode()),
    ]


def heartbeat_json(device_id: str, partner_id: str, *, battery_pct: float | None = 90.0, **extra: Any) -> bytes:
    body = {
        "device_id": device_id,
        "partner_id": partner_id,
        "sent_at": datetime.now(UTC).isoformat(),
        "battery_pct": battery_pct,
        "signal_dbm": -70.0,
        "tamper": False,
        **extra,
    }
    return json.dumps(body).encode()


def settlement_place(code: str = "0001") -> dict[str, Any]:
    return {
        "country": "LV",
        "municipality": {"code": "0440", "name": {"lv": "Ludzas novads", "ru": "Лудзенский край", "en": "Ludza"}},
        "territory": {"code": "044060", "name": {"lv": "Pildas pagasts", "ru": "Пилдская волость", "en": "Pilda"}},
        "settlement": {"code": f"S{code}", "name": {"lv": "Nirza", "ru": "Нирза", "en": "Nirza"}},
    }


def later(seconds: float) -> str:
    return cap_time(datetime.now(UTC) + timedelta(seconds=seconds))
