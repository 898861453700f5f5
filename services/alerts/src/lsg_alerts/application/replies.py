"""Acknowledge by replying with the message's code: for channels without links (an SMS, a plain-text mail
client, a phone read-out), a gateway forwards "<code>" from the contact's own address or number.

A code acknowledges only when it was sent to the address or number the reply comes from, within the link's
lifetime, once, while the alert still waits; otherwise the answer says which of these failed and nothing changes.
The acknowledgement names the contact and the channel whose message carried the code (``alert.acknowledged``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts
from lsg_alerts.application.lifecycle import acknowledge_row
from lsg_alerts.application.notifications import mark_delivered
from lsg_alerts.application.residency import NONE, Residency
from lsg_alerts.domain import notify as rules
from lsg_alerts.domain.lifecycle import AlertState, LifecycleError
from lsg_events.alerts import NotificationChannel
from lsg_shared.uow import UnitOfWork


class ReplyOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    MALFORMED = "malformed"  # the text does not start with a code
    UNKNOWN = "unknown"  # no message with this code went to this address or number
    EXPIRED = "expired"
    USED = "used"
    CLOSED = "closed"  # the alert is no longer waiting (acknowledged by someone else, resolved, cancelled)


@dataclass(frozen=True, slots=True)
class ReplyAnswer:
    outcome: ReplyOutcome
    alert_id: str | None = None
    contact_id: str | None = None
    channel: str | None = None


def _normal(address: str) -> str:
    """E-mail addresses compare without case; numbers without spaces, dashes, dots or brackets."""
    text = address.strip().lower()
    if "@" in text:
        return text
    return "".join(ch for ch in text if ch.isdigit() or ch == "+")


def _addresses(person: contacts.Person) -> set[str]:
    found = {_normal(c.get("address", "")) for c in person.channels if c.get("address")}
    if person.phone:
        found.add(_normal(person.phone))
    return found - {""}


async def acknowledge_by_reply(
    uow: UnitOfWork,
    box: SecretBox,
    sender: str,
    text: str,
    at: datetime,
    ttl_s: int,
    residency: Residency = NONE,
) -> ReplyAnswer:
    """Acknowledge the alert whose message to ``sender`` carried the code that ``text`` starts with."""
    code = rules.reply_code_in(text)
    if code is None:
        return ReplyAnswer(ReplyOutcome.MALFORMED)
    who = _normal(sender)
    async with uow.begin() as tx:
        match: dict[str, Any] | None = None
        for row in await residency.fill(await db.notifications_by_reply_code(tx.conn, code)):
            person = contacts.unseal(box, row["sealed"]) if row["erased_at"] is None else None
            if person is not None and who in _addresses(person):
                match = row
                break
        if match is None:  # says nothing about whether the code exists for somebody else
            return ReplyAnswer(ReplyOutcome.UNKNOWN)
        seen = {"alert_id": str(match["alert_id"]), "contact_id": str(match["contact_id"]), "channel": match["channel"]}
        if match["ack_used_at"] is not None:
            return ReplyAnswer(ReplyOutcome.USED, **seen)
        if match["sent_at"] + timedelta(seconds=ttl_s) <= at:
            return ReplyAnswer(ReplyOutcome.EXPIRED, **seen)
        alert = await db.get_alert(tx.conn, match["alert_id"], lock=True)
        if alert is None or alert["state"] != AlertState.RAISED:
            return ReplyAnswer(ReplyOutcome.CLOSED, **seen)
        try:
            await acknowledge_row(
                tx,
                alert,
                f"contact:{match['contact_id']}",
                None,
                at,
                contact_id=str(match["contact_id"]),
                channel=NotificationChannel(match["channel"]),
            )
        except LifecycleError:
            return ReplyAnswer(ReplyOutcome.CLOSED, **seen)
        await db.use_link(tx.conn, match["notification_id"], at)  # the code and the link are one credential
        await mark_delivered(tx, match, "reply_code", at)
        return ReplyAnswer(ReplyOutcome.ACKNOWLEDGED, **seen)
