"""Scenario 9 (issue 26): the SMTP server stopped for 30 s while alerts keep coming and people must be e-mailed.

The alerts service (a real process) e-mails the elder on call for every alert a partner raises, through a real
SMTP server (Mailpit). The server is stopped for 30 s while the partner keeps raising alerts: every attempt
fails ('connection'), is recorded and announced (``notification.failed``, next 'retry'), and retried with
backoff; nothing is given up. Once the server is back, every notification is sent, and exactly once: one message
per alert in the mailbox (by its unique headline), one ``notification.sent`` per notification, every
notification row 'sent', the outbox empty. The service is never restarted.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alerts_faults import Partner, alerts_kit, pending_outbox, start_alerts
from faults_harness import record

from lsg_events import topics
from lsg_local.mailpit import Mailpit
from lsg_local.testing import PrivateInfra, collect

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
OUTAGE_S = 30.0
SENT = "lv.lsg.notification.sent.v1"
FAILED = "lv.lsg.notification.failed.v1"
LINK = re.compile(r"/v1/ack/([A-Za-z0-9_-]+)")


async def _on_call(client: httpx.AsyncClient, address: str) -> str:
    """An elder on call for the partner's settlement (S0001, the alerts test kit's device), e-mail only."""
    person = {"name": "Jānis", "language": "lv", "channels": [{"kind": "email", "address": address}]}
    r = await client.post("/v1/contacts", json=person, headers=alerts_kit.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    contact = str(r.json()["contact_id"])
    rota = {
        "level": "settlement_elder",
        "area_code": "S0001",
        "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "shift_hours": 24,
        "members": [contact],
    }
    r = await client.post("/v1/rotas", json=rota, headers=alerts_kit.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    return contact


async def _notifications(dsn: str, alert_ids: set[str]) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT notification_id::text AS id, alert_id::text AS alert, state FROM notifications "
            "WHERE alert_id = ANY($1::uuid[])",
            list(alert_ids),
        )
        attempts = await conn.fetchval(
            "SELECT count(*) FROM notification_attempts t JOIN notifications n USING (notification_id) "
            "WHERE n.alert_id = ANY($1::uuid[]) AND NOT t.ok",
            list(alert_ids),
        )
    finally:
        await conn.close()
    return {"rows": rows, "failed_attempts": int(attempts)}


def _delivered(mailpit: Mailpit, address: str) -> Counter[str]:
    """Messages in the mailbox to ``address`` per notification id (read from the message's acknowledgement link:
    its token starts with the notification's 16 bytes, no key needed to read them)."""
    found: Counter[str] = Counter()
    for m in mailpit.messages():
        if not any(t["Address"] == address for t in m["To"]):
            continue
        link = LINK.search(mailpit.message(m["ID"])["Text"])
        assert link, m
        token = link.group(1)
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        found[str(uuid.UUID(bytes=raw[:16]))] += 1
    return found


def _count(mailpit: Mailpit, address: str) -> int:
    return sum(1 for m in mailpit.messages() if any(t["Address"] == address for t in m["To"]))


@pytest.mark.timeout(900)
async def test_smtp_stopped_30s_every_notification_sent_exactly_once_after(
    private: PrivateInfra, tmp_path: Path
) -> None:
    started = time.monotonic()
    mailpit = Mailpit(tmp_path / "mailpit").start()
    service, dsn = await start_alerts(
        private,
        tmp_path,
        LSG_SMTP_HOST="127.0.0.1",
        LSG_SMTP_PORT=str(mailpit.smtp_port),
        LSG_SMTP_TIMEOUT_S="3",
        LSG_NOTIFY_INTERVAL_S="0.2",
        LSG_NOTIFY_BACKOFF_S="0.5",
        LSG_NOTIFY_BACKOFF_MAX_S="2",
        LSG_NOTIFY_ATTEMPTS_PER_CHANNEL="1000",  # keep retrying the one channel through the outage
    )
    address = "elder-s9@example.lv"
    phase = "before"
    raised: dict[str, list[str]] = {"before": [], "smtp_stopped": [], "after": []}
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            partner = await Partner.register(client, "smtp")
            await _on_call(client, address)

            async def raise_one(i: int) -> None:
                status = await partner.deliver(client, f"s9-{i}", "Extreme")
                assert status == 202, partner.unexpected
                raised[phase].append(f"s9-{i}")

            i = 0
            for _ in range(5):  # before: delivered at once
                await raise_one(i)
                i += 1
            deadline = time.monotonic() + 30
            while await asyncio.to_thread(_count, mailpit, address) < 5 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert await asyncio.to_thread(_count, mailpit, address) == 5, "the first messages did not arrive"

            # ---- SMTP away for 30 s: alerts keep coming, every attempt fails and is retried ------------------
            phase = "smtp_stopped"
            await asyncio.to_thread(mailpit.stop)
            stopped = time.monotonic()
            while time.monotonic() - stopped < OUTAGE_S:
                await raise_one(i)
                i += 1
                await asyncio.sleep(0.5)
            alert_ids_so_far = {aid for aid in partner.accepted.values() if aid}
            during = await _notifications(dsn, alert_ids_so_far)
            pending_at_return = sum(1 for r in during["rows"] if r["state"] == "pending")
            await asyncio.to_thread(mailpit.start)
            back = time.monotonic()
            phase = "after"
            for _ in range(5):
                await raise_one(i)
                i += 1

            # ---- back: every notification sent, exactly once ------------------------------------------------
            total = i
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if await asyncio.to_thread(_count, mailpit, address) >= total:
                    break
                await asyncio.sleep(0.3)
            drained_s = time.monotonic() - back
            await asyncio.sleep(3)  # a second copy of anything would be here by now
            assert service.starts == 1, "the service was restarted"

        alert_ids = {aid for aid in partner.accepted.values() if aid}
        async with collect(private.kafka_bootstrap, topics.ALERTS) as seen:
            await seen.wait_for(
                lambda c: len({e.data.alert_id for e in c.events(SENT) if e.data.alert_id in alert_ids}) >= total,
                120,
                "notification.sent of every alert",
            )
            await asyncio.sleep(2)
            sent = [e.data for e in seen.events(SENT) if e.data.alert_id in alert_ids]
            failed = [e.data for e in seen.events(FAILED) if e.data.alert_id in alert_ids]
        after = await _notifications(dsn, alert_ids)
        mailbox = await asyncio.to_thread(_delivered, mailpit, address)
        left_in_outbox = await pending_outbox(dsn)
        service.stop()
    finally:
        mailpit.stop()

    assert len(alert_ids) == total
    assert during["failed_attempts"] > 0, "no attempt failed while the SMTP server was away"
    assert pending_at_return >= len(raised["smtp_stopped"]), "a notification was given up during the outage"
    states = Counter(r["state"] for r in after["rows"])
    assert states == {"sent": total}, states
    assert len(after["rows"]) == total, "one notification per alert (one elder on call)"
    per_notification = Counter(e.notification_id for e in sent)
    assert len(per_notification) == total
    assert max(per_notification.values()) == 1, "a notification.sent twice"
    assert {f.reason for f in failed} == {"connection"}, Counter(f.reason for f in failed)
    assert {f.next for f in failed} == {"retry"}, "something failed over or gave up instead of retrying"
    assert sum(mailbox.values()) == total, f"{sum(mailbox.values())} messages for {total} alerts"
    assert max(mailbox.values()) == 1, "a notification's message delivered twice"
    assert set(mailbox) == {r["id"] for r in after["rows"]}, "a message for no notification, or one missing"
    assert left_in_outbox == 0
    record(
        "s9_smtp_outage",
        title="9. SMTP server stopped 30 s during notifications",
        outage_s=OUTAGE_S,
        alerts={k: len(v) for k, v in raised.items()},
        failed_attempts=during["failed_attempts"],
        notification_failed_events=len(failed),
        pending_when_smtp_returned=pending_at_return,
        drained_after_return_s=round(drained_s, 1),
        messages=sum(mailbox.values()),
        notification_sent_events=len(sent),
        duplicates=sum(n - 1 for n in mailbox.values()) + sum(n - 1 for n in per_notification.values()),
        service_restarts=service.starts - 1,
        seconds=round(time.monotonic() - started, 1),
    )
