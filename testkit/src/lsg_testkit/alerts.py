"""The alerts tests' partner fixtures: CAP documents and heartbeats with test defaults, a settlement, times.

Building and signing themselves are the client package's (``lsg_events.partner``: ``cap_alert``, ``cap_time``,
``signed_headers``, ``kafka_headers``), what a real partner uses; this module only fills in defaults.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lsg_events import partner


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
    """A CAP alert (``{"alert": ...}``) of a fire alarm, every field overridable; ``with_info=False`` leaves out
    the info block."""
    info = (
        partner.cap_info(
            category=category,
            event=event,
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            area_desc=area_desc,
            expires=expires,
            headline=headline,
            device_id=device_id,
        )
        if with_info
        else None
    )
    return partner.cap_alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=msg_type,
        scope=scope,
        references=references,
        info=info,
    )


def cap_json(**kwargs: Any) -> bytes:
    """:func:`cap_dict` in the JSON form."""
    return partner.cap_json(cap_dict(**kwargs))


def cap_xml(**kwargs: Any) -> bytes:
    """:func:`cap_dict` in the XML form."""
    return partner.cap_xml(cap_dict(**kwargs))


def reference(sender: str, identifier: str, sent: str) -> str:
    """One entry of a CAP ``references`` list."""
    return f"{sender},{identifier},{sent}"


def later(seconds: float) -> str:
    """A CAP date-time `seconds` from now."""
    return partner.cap_time(datetime.now(UTC) + timedelta(seconds=seconds))


def heartbeat_json(device_id: str, partner_id: str, *, battery_pct: float | None = 90.0, **extra: Any) -> bytes:
    """A healthy heartbeat sent now (signal -70 dBm, no tamper); `extra` adds or replaces fields."""
    extra.setdefault("signal_dbm", -70.0)
    return partner.heartbeat(device_id, partner_id, battery_pct=battery_pct, **extra)


def settlement_place(code: str = "0001") -> dict[str, Any]:
    """A Latvian settlement (Nirza, Pildas pagasts, Ludzas novads) with the settlement code ``S<code>``."""
    return {
        "country": "LV",
        "municipality": {"code": "0440", "name": {"lv": "Ludzas novads", "ru": "Лудзенский край", "en": "Ludza"}},
        "territory": {"code": "044060", "name": {"lv": "Pildas pagasts", "ru": "Пилдская волость", "en": "Pilda"}},
        "settlement": {"code": f"S{code}", "name": {"lv": "Nirza", "ru": "Нирза", "en": "Nirza"}},
    }


CAP_CORPUS = Path(__file__).resolve().parents[3] / "services" / "alerts" / "tests" / "data" / "cap"


def cap_corpus(
    name: str,
    *,
    identifier: str,
    device_id: str = "none",
    sender: str = "vendor@example.org",
    sent: datetime | None = None,
    expires_in_s: float = 3600,
) -> bytes:
    """A document of the alerts tests' CAP corpus (``services/alerts/tests/data/cap/``) with its placeholders
    filled: the identity, the device, ``sent`` (now unless given; ``{sent_z}`` is the same moment with a 'Z', as
    CAP 1.0 allowed) and ``expires`` (`expires_in_s` after it)."""
    moment = (sent or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    text = (CAP_CORPUS / name).read_text(encoding="utf-8")
    values = {
        "identifier": identifier,
        "sender": sender,
        "sent": partner.cap_time(moment),
        "sent_z": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires": partner.cap_time(moment + timedelta(seconds=expires_in_s)),
        "device_id": device_id,
    }
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text.encode()


def cap_corpus_expected() -> dict[str, dict[str, Any]]:
    """What each corpus document must come to (``expected.json`` beside the documents)."""
    loaded: dict[str, dict[str, Any]] = json.loads((CAP_CORPUS / "expected.json").read_text(encoding="utf-8"))
    return loaded
