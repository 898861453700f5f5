"""The suite's own CAP: the public alerts as CAP 1.2 messages the suite issues, and the Atom feed carrying them
(the way national authorities publish to public alert hubs).

The suite is the sender of what it publishes. An alert's first message is an ``Alert`` (identifier
``lsg-<alert id>``, sent when the suite received it); once a partner updated it, the suite's message is an
``Update`` and once cancelled a ``Cancel``, each a new message whose ``references`` names the suite's first one.
The partner's info blocks (every language: lv, ru, en...) are kept as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from lxml.etree import SubElement, _Element

from lsg_alerts.domain.cap import ALERT, CAP_NS, Elem

ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class PublicAlert:
    alert_id: str
    state: str
    received_at: datetime
    cancelled_at: datetime | None
    msg_type: str  # the alert row's: Alert, or Update once a partner updated it
    document: dict[str, Any]  # the partner's message as CAP 1.2 (the stored, normalised document)


def cap_time(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def suite_message(alert: PublicAlert, sender: str) -> dict[str, Any]:
    """The suite's current CAP 1.2 message about `alert` (a document in the stored JSON shape)."""
    original_id = f"lsg-{alert.alert_id}"
    original_sent = cap_time(alert.received_at)
    doc = {k: v for k, v in alert.document.items() if k not in ("references", "restriction", "addresses")}
    doc.update(sender=sender, status="Actual", scope="Public")
    if alert.state == "cancelled" and alert.cancelled_at is not None:
        sent = cap_time(max(alert.cancelled_at, alert.received_at))
        doc.update(identifier=f"{original_id}-cancel", sent=sent, msgType="Cancel")
        doc["references"] = f"{sender},{original_id},{original_sent}"
    elif alert.msg_type == "Update":
        partner_sent = str(alert.document.get("sent") or original_sent)
        sent = cap_time(max(_parse_time(partner_sent), alert.received_at))
        stamp = hashlib.sha256(f"{alert.document.get('sender')},{alert.document.get('identifier')}".encode())
        doc.update(identifier=f"{original_id}-{stamp.hexdigest()[:12]}", sent=sent, msgType="Update")
        doc["references"] = f"{sender},{original_id},{original_sent}"
    else:
        doc.update(identifier=original_id, sent=original_sent, msgType="Alert")
    return doc


def _elements(parent: _Element, spec: Sequence[Elem], values: dict[str, Any]) -> None:
    for elem in spec:
        value = values.get(elem.name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            child = SubElement(parent, f"{{{CAP_NS}}}{elem.name}")
            if isinstance(elem.check, tuple):
                _elements(child, elem.check, item if isinstance(item, dict) else {})
            else:
                child.text = _text(item)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def alert_element(doc: dict[str, Any]) -> _Element:
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _elements(root, ALERT, doc)
    return root


def cap_xml(doc: dict[str, Any]) -> bytes:
    """A stored-shape document as CAP 1.2 XML, elements in the schema's order."""
    return bytes(etree.tostring(alert_element(doc), encoding="UTF-8", xml_declaration=True))


def entry_tag(alert: PublicAlert) -> str:
    """What changes when the suite's message about an alert changes (the feed's ETag is made of these)."""
    doc = alert.document
    return f"{alert.alert_id}|{alert.state}|{alert.msg_type}|{doc.get('sender')}|{doc.get('identifier')}"


def etag(alerts: Sequence[PublicAlert]) -> str:
    digest = hashlib.sha256("\n".join(entry_tag(a) for a in alerts).encode()).hexdigest()
    return f'"{digest[:32]}"'


def atom_feed(
    alerts: Sequence[PublicAlert], *, sender: str, base_url: str, title: str, generated_at: datetime
) -> bytes:
    """The Atom feed of the suite's current CAP messages, each embedded and linked as CAP 1.2 XML."""
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    messages = [(a, suite_message(a, sender)) for a in alerts]
    SubElement(feed, f"{{{ATOM_NS}}}id").text = f"{base_url}/v1/cap/feed.atom"
    SubElement(feed, f"{{{ATOM_NS}}}title").text = title
    newest = max((str(m["sent"]) for _, m in messages), default=cap_time(generated_at))
    SubElement(feed, f"{{{ATOM_NS}}}updated").text = newest
    author = SubElement(feed, f"{{{ATOM_NS}}}author")
    SubElement(author, f"{{{ATOM_NS}}}name").text = sender
    SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", href=f"{base_url}/v1/cap/feed.atom")
    for alert, message in messages:
        entry = SubElement(feed, f"{{{ATOM_NS}}}entry")
        SubElement(entry, f"{{{ATOM_NS}}}id").text = f"urn:lsg-events:cap:{message['identifier']}"
        infos = message.get("info") or [{}]
        headline = infos[0].get("headline") or infos[0].get("event") or message["identifier"]
        SubElement(entry, f"{{{ATOM_NS}}}title").text = f"{message['msgType']}: {headline}"
        SubElement(entry, f"{{{ATOM_NS}}}updated").text = str(message["sent"])
        SubElement(
            entry,
            f"{{{ATOM_NS}}}link",
            rel="alternate",
            type="application/cap+xml",
            href=f"{base_url}/v1/cap/alerts/{alert.alert_id}.xml",
        )
        content = SubElement(entry, f"{{{ATOM_NS}}}content", type="application/cap+xml")
        content.append(alert_element(message))
    return bytes(etree.tostring(feed, encoding="UTF-8", xml_declaration=True))
