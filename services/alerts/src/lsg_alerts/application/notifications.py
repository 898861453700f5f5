"""Reaching a person: pages become notifications, notifications are sent (retried with backoff, failed over to
the contact's next channel, then to the next person on call), and a signed link in every message acknowledges.

Pages are written with the alert (in the one statement that raises it, or the transaction that escalates it), so
a crash loses none: the sender's scan picks them up. Rows are claimed ``FOR UPDATE SKIP LOCKED``; every attempt
is recorded (``notification_attempts``) and announced (``notification.sent`` / ``notification.failed``, contact
ids only). An acknowledgement, a resolution or a cancellation stops every pending notification of the alert.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol
from uuid import UUID

import asyncpg

from lsg_alerts.adapters import postgres as db
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts
from lsg_alerts.application.lifecycle import acknowledge_row, now
from lsg_alerts.application.residency import NONE, Residency
from lsg_alerts.domain import notify as rules
from lsg_alerts.domain.lifecycle import AlertState, LifecycleError
from lsg_alerts.settings import AlertsSettings
from lsg_events.alerts import (
    EscalationLevel,
    NotificationChannel,
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
)
from lsg_shared.uow import Transaction, UnitOfWork

log = logging.getLogger(__name__)


class Channel(Protocol):
    async def send(
        self, spec: dict[str, str], subject: str, text: str, language: str, payload: dict[str, Any]
    ) -> str | None:
        """Send to the channel ``spec`` (its address or URL, sealed with the contact); ``payload`` is the structured
        form (ids, level, severity, the link) for machine channels. None when accepted, else a machine code."""


def ack_key(settings: AlertsSettings) -> bytes:
    """The links' HMAC key: ``LSG_ACK_LINK_KEY``, else one derived from the secrets key (never the key itself)."""
    if settings.ack_link_key is not None:
        return settings.ack_link_key.get_secret_value().encode()
    raw = ""
    if settings.alerts_secrets_key is not None:
        raw = settings.alerts_secrets_key.get_secret_value()
    elif settings.alerts_secrets_key_file is not None:
        raw = settings.alerts_secrets_key_file.read_text("utf-8")
    first = raw.replace("\n", ",").split(",")[0].strip() or "lsg-alerts-development-only-not-a-secret"
    return hashlib.sha256(b"lsg-alerts-ack-link|" + first.encode()).digest()


@dataclass(frozen=True, slots=True)
class _Attempt:
    person: contacts.Person | None
    reason: str | None  # None: the channel accepted the message
    code: str | None  # the reply code the message carried
    at: datetime


def _area_codes(row: asyncpg.Record) -> list[str]:
    codes = (row["settlement_code"], row["territory_code"], row["municipality_code"], row["country"])
    return [c for c in codes if c]


class Notifier:
    """The sender: expand pages, send what is due. One per service; ``channels`` maps a channel kind to its
    adapter (e-mail today)."""

    def __init__(
        self,
        settings: AlertsSettings,
        box: SecretBox,
        channels: dict[str, Channel],
        key: bytes | None = None,
        residency: Residency = NONE,
    ) -> None:
        self.settings = settings
        self.box = box
        self.residency = residency  # a resident's name and addresses are read from their country's database
        self.channels = channels
        self.key = key or ack_key(settings)

    # ---- pages ------------------------------------------------------------------------------------------------
    async def expand_pages(self, uow: UnitOfWork, at: datetime) -> int:
        """Turn pending pages into a first notification to the first reachable person on call."""
        done = 0
        # Who is on call for a level and area, read once per scan: a flood of alerts from one place (the usual
        # shape of one) would otherwise repeat the same rota reads for every page, one round trip after another.
        on_call: dict[tuple[str, tuple[str, ...]], tuple[list[UUID], dict[UUID, asyncpg.Record]]] = {}
        async with uow.begin() as tx:
            for page in await db.pending_pages(tx.conn):
                done += 1
                if page["state"] != AlertState.RAISED:
                    await db.set_page(tx.conn, page["page_id"], "stopped", [], 0)
                    continue
                key = (page["level"], tuple(_area_codes(page)))
                if key not in on_call:
                    found = await contacts.on_call_at(tx.conn, page["level"], list(key[1]), at)
                    by_id = {r["contact_id"]: r for r in await db.contacts_by_id(tx.conn, found)} if found else {}
                    on_call[key] = (found, by_id)
                people, rows = on_call[key]
                reachable = [
                    p
                    for p in people
                    if p in rows
                    and rows[p]["erased_at"] is None
                    and rows[p]["channel_kinds"]
                    and (rows[p]["drills"] or not page["drill"])
                ]
                if not reachable:  # recorded on the page (state 'unreachable'), visible with the alert
                    log.warning("notify: nobody reachable on call for %s of alert %s", page["level"], page["alert_id"])
                    await db.set_page(tx.conn, page["page_id"], "unreachable", [], 0)
                    continue
                await db.expand_page(
                    tx.conn,
                    page["page_id"],
                    reachable,
                    uuid.uuid4(),
                    page["alert_id"],
                    page["level"],
                    rows[reachable[0]]["channel_kinds"][0],
                    at,
                )
        return done

    # ---- sending ----------------------------------------------------------------------------------------------
    def link(self, notification_id: UUID, at: datetime) -> str:
        token = rules.sign_link(self.key, notification_id, at + timedelta(seconds=self.settings.ack_link_ttl_s))
        return f"{self.settings.public_base_url.rstrip('/')}/v1/ack/{token}"

    async def send_due(self, uow: UnitOfWork, at: datetime, most: int = 500) -> tuple[int, int]:
        """Send the due notifications (at most about ``most`` attempts this scan). Returns (sent, failed attempts).

        ``notify_concurrency`` workers each claim up to ``notify_batch`` due rows in a transaction of their own
        (``FOR UPDATE SKIP LOCKED``), send them at once, record every attempt and its event in that transaction and
        commit. The guarantee per message is the one a single sender gives (one replica, one worker sends a row;
        a crash before the commit sends it again: at least once), while one slow relay conversation no longer
        holds up the others, and a transaction's cost is shared by a batch.
        """
        counts = {"sent": 0, "failed": 0}

        async def worker() -> None:
            while counts["sent"] + counts["failed"] < most:
                async with uow.begin() as tx:
                    due = await db.due_notifications(tx.conn, at, limit=self.settings.notify_batch)
                    if not due:
                        return
                    live = []
                    for n in due:
                        if n["alert_state"] == AlertState.RAISED:
                            live.append(n)
                            continue
                        await db.update_notification(
                            tx.conn,
                            n["notification_id"],
                            state="stopped",
                            attempts=n["attempts"],
                            channel_index=n["channel_index"],
                            channel=n["channel"],
                            next_attempt_at=n["next_attempt_at"],
                        )
                    # The network part at once; the records one after the other (one connection).
                    tried = await asyncio.gather(*(self._attempt(n, at) for n in live))
                    for n, attempt in zip(live, tried, strict=True):
                        ok = await self._record(tx, n, attempt)
                        counts["sent" if ok else "failed"] += 1

        outcomes = await asyncio.gather(
            *(worker() for _ in range(self.settings.notify_concurrency)), return_exceptions=True
        )
        for outcome in outcomes:  # every worker has finished; the scan's caller decides about the first error
            if isinstance(outcome, BaseException):
                raise outcome
        return counts["sent"], counts["failed"]

    async def _attempt(self, n: asyncpg.Record, at: datetime) -> _Attempt:
        """One try on the notification's channel (no database work: it runs beside its batch's other tries)."""
        person = contacts.unseal(self.box, (await self.residency.fill_one(n))["sealed"])
        index = n["channel_index"]
        channel_spec = person.channels[index] if person and index < len(person.channels) else None
        adapter = self.channels.get(n["channel"]) if channel_spec else None
        code: str | None = None
        if person is None or channel_spec is None or adapter is None:
            reason: str | None = "no_channel"
        else:
            title = n["headline"] or n["event"]
            link = self.link(n["notification_id"], at)
            code = n["reply_code"] or rules.new_reply_code()
            message = rules.render(
                n["language"],
                name=person.name,
                title=title,
                area=n["area_desc"],
                severity=n["severity"],
                level=n["level"],
                received_at=n["received_at"],
                link=link,
                drill=n["drill"],
                code=code,
            )
            payload = {
                "notification_id": str(n["notification_id"]),
                "alert_id": str(n["alert_id"]),
                "contact_id": str(n["contact_id"]),
                "level": n["level"],
                "severity": n["severity"],
                "drill": n["drill"],
                "ack_url": link,
                "reply_code": code,
            }
            reason = await adapter.send(channel_spec, message.subject, message.text, n["language"], payload)
        return _Attempt(person, reason, code, now())

    async def _record(self, tx: Transaction, n: asyncpg.Record, tried: _Attempt) -> bool:
        """Record a try, its event, and what follows it (sent; retry, next channel, next person)."""
        person, reason, code, done_at = tried.person, tried.reason, tried.code, tried.at
        index = n["channel_index"]
        attempt = n["attempts"] + 1
        await db.record_attempt(
            tx.conn, n["notification_id"], done_at, n["channel"], index, attempt, reason is None, reason
        )
        common: dict[str, Any] = {
            "alert_id": str(n["alert_id"]),
            "drill": n["drill"],
            "notification_id": str(n["notification_id"]),
            "contact_id": str(n["contact_id"]),
            "channel": NotificationChannel(n["channel"]),
            "level": EscalationLevel(n["level"]),
            "attempt": attempt,
        }
        if reason is None:
            await db.update_notification(
                tx.conn,
                n["notification_id"],
                state="sent",
                attempts=attempt,
                channel_index=index,
                channel=n["channel"],
                next_attempt_at=done_at,
                sent_at=done_at,
                reply_code=code,
            )
            await tx.emit(NotificationSent(**common, sent_at=done_at))
            if n["channel"] == NotificationChannel.WEBHOOK:  # the dispatch system's 2xx: it is the recipient
                await mark_delivered(tx, n, "receiver_accepted", done_at)
            return True
        await self._after_failure(tx, n, person, attempt, reason, done_at, common)
        return False

    async def _after_failure(
        self,
        tx: Transaction,
        n: asyncpg.Record,
        person: contacts.Person | None,
        attempt: int,
        reason: str,
        at: datetime,
        common: dict[str, Any],
    ) -> None:
        s = self.settings
        channels = len(person.channels) if person else 0
        candidates = list(n["candidates"] or [])
        max_attempts = s.notify_attempts_per_channel if reason != "no_channel" else 1
        step = rules.after_failure(attempt, max_attempts, n["channel_index"], channels, n["candidate"], len(candidates))
        retry_at: datetime | None = None
        nid = n["notification_id"]
        if step is rules.Next.RETRY:
            retry_at = at + timedelta(seconds=rules.backoff_s(attempt, s.notify_backoff_s, s.notify_backoff_max_s))
            await db.update_notification(
                tx.conn,
                nid,
                state="pending",
                attempts=attempt,
                channel_index=n["channel_index"],
                channel=n["channel"],
                next_attempt_at=retry_at,
            )
        elif step is rules.Next.NEXT_CHANNEL:
            assert person is not None
            index = n["channel_index"] + 1
            await db.update_notification(
                tx.conn,
                nid,
                state="pending",
                attempts=0,
                channel_index=index,
                channel=person.channels[index]["kind"],
                next_attempt_at=at,
            )
        else:
            await db.update_notification(
                tx.conn,
                nid,
                state="failed",
                attempts=attempt,
                channel_index=n["channel_index"],
                channel=n["channel"],
                next_attempt_at=at,
            )
            if step is rules.Next.NEXT_CONTACT:
                await self._next_contact(tx, n, candidates, at)
        await tx.emit(NotificationFailed(**common, failed_at=at, reason=reason, next=step.value, retry_at=retry_at))

    async def _next_contact(self, tx: Transaction, n: asyncpg.Record, candidates: list[UUID], at: datetime) -> None:
        """The next person on call of the page who can still be reached (skipping people erased since)."""
        for k in range(n["candidate"] + 1, len(candidates)):
            row = await db.get_contact(tx.conn, candidates[k])
            if row is None or row["erased_at"] is not None or not row["channel_kinds"]:
                continue
            await db.advance_page(tx.conn, n["page_id"], k)
            await db.insert_notification(
                tx.conn, uuid.uuid4(), n["page_id"], n["alert_id"], candidates[k], n["level"], 0,
                row["channel_kinds"][0], at,
            )  # fmt: skip
            return


Evidence = Literal["receiver_accepted", "link_opened", "reply_code", "acknowledged"]


async def mark_delivered(tx: Transaction, n: asyncpg.Record | dict[str, Any], evidence: Evidence, at: datetime) -> None:
    """The first evidence that ``n`` reached its recipient: recorded and announced once (``notification.delivered``).

    What counts (docs/oncall.md): a webhook's 2xx (the dispatch system is the recipient); for e-mail the link
    opened, the reply code or an acknowledgement. An SMTP relay's 250 is only ``notification.sent``."""
    if not await db.mark_delivered(tx.conn, n["notification_id"], at):
        return
    await tx.emit(
        NotificationDelivered(
            alert_id=str(n["alert_id"]),
            drill=n["drill"],
            notification_id=str(n["notification_id"]),
            contact_id=str(n["contact_id"]),
            channel=NotificationChannel(n["channel"]),
            level=EscalationLevel(n["level"]),
            evidence=evidence,
            delivered_at=at,
        )
    )


async def notifications_of(uow: UnitOfWork, alert_id: UUID) -> list[asyncpg.Record]:
    """Who was notified about an alert, how, and how it went (contact ids, never addresses)."""
    async with uow.read() as conn:
        return await db.notifications_of(conn, alert_id)


# ---- acknowledging from the message ---------------------------------------------------------------------------------
class LinkOutcome(StrEnum):
    SHOW = "show"  # GET: the confirmation page
    ACKNOWLEDGED = "acknowledged"
    FORGED = "forged"
    EXPIRED = "expired"
    USED = "used"
    CLOSED = "closed"  # the alert is no longer raised (someone else acknowledged, or it was resolved)


@dataclass(frozen=True, slots=True)
class LinkAnswer:
    outcome: LinkOutcome
    language: str = "en"
    title: str = ""
    area: str = ""


async def open_link(uow: UnitOfWork, key: bytes, token: str, *, acknowledge: bool) -> LinkAnswer:
    """Check a link (and, for a POST, acknowledge): forged, expired or used links change nothing."""
    at = now()
    opened = rules.open_link(key, token, at)
    if opened is rules.LinkProblem.FORGED:
        return LinkAnswer(LinkOutcome.FORGED)
    if opened is rules.LinkProblem.EXPIRED:
        return LinkAnswer(LinkOutcome.EXPIRED)
    assert isinstance(opened, UUID)
    async with uow.begin() as tx:
        n = await db.notification_for_link(tx.conn, opened)
        if n is None:  # signed by us, but the notification is gone: treat as forged
            return LinkAnswer(LinkOutcome.FORGED)
        lang = rules.language_of(n["language"])
        seen = {"language": lang, "title": n["headline"] or n["event"], "area": n["area_desc"]}
        if n["ack_used_at"] is not None:
            return LinkAnswer(LinkOutcome.USED, **seen)
        alert = await db.get_alert(tx.conn, n["alert_id"], lock=True)
        if alert is None or alert["state"] != AlertState.RAISED:
            return LinkAnswer(LinkOutcome.CLOSED, **seen)
        if not acknowledge:
            await mark_delivered(tx, n, "link_opened", at)
            return LinkAnswer(LinkOutcome.SHOW, **seen)
        try:
            await acknowledge_row(
                tx,
                alert,
                f"contact:{n['contact_id']}",
                None,
                at,
                contact_id=str(n["contact_id"]),
                channel=NotificationChannel(n["channel"]),
            )
        except LifecycleError:
            return LinkAnswer(LinkOutcome.CLOSED, **seen)
        await db.use_link(tx.conn, opened, at)
        await mark_delivered(tx, n, "acknowledged", at)
        return LinkAnswer(LinkOutcome.ACKNOWLEDGED, **seen)
