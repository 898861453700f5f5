"""SQL of pages (reach the on-call person of a level), notifications (one contact, one channel) and attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lsg_alerts.adapters.postgres.rows import Row
from lsg_shared.db import Conn


async def add_page(conn: Conn, alert_id: UUID, level: str, drill: bool, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO pages (alert_id, level, drill, created_at) VALUES ($1, $2, $3, $4)", alert_id, level, drill, at
    )


async def stop_notifications(conn: Conn, alert_id: UUID) -> None:
    """Nothing more is sent about the alert (acknowledged, resolved or cancelled)."""
    await conn.execute(
        """
        WITH pages_stopped AS (
            UPDATE pages SET state = 'stopped' WHERE alert_id = $1 AND state = 'pending'
        )
        UPDATE notifications SET state = 'stopped' WHERE alert_id = $1 AND state = 'pending'
        """,
        alert_id,
    )


async def pending_pages(conn: Conn, limit: int = 100) -> list[Row]:
    """Pages not yet expanded, with their alert's place codes and state, locked (one replica expands each)."""
    return list(
        await conn.fetch(
            """
            WITH pending AS (
                SELECT page_id FROM pages WHERE state = 'pending' ORDER BY page_id LIMIT $1 FOR UPDATE SKIP LOCKED
            )
            SELECT p.page_id, p.alert_id, p.level, p.drill, a.state, a.country, a.municipality_code,
                   a.territory_code, a.settlement_code
            FROM pending JOIN pages p USING (page_id) JOIN alerts a USING (alert_id) ORDER BY p.page_id
            """,
            limit,
        )
    )


async def set_page(conn: Conn, page_id: int, state: str, candidates: Sequence[UUID], candidate: int) -> None:
    await conn.execute(
        "UPDATE pages SET state = $2, candidates = $3, candidate = $4 WHERE page_id = $1",
        page_id,
        state,
        list(candidates),
        candidate,
    )


async def insert_notification(
    conn: Conn,
    notification_id: UUID,
    page_id: int,
    alert_id: UUID,
    contact_id: UUID,
    level: str,
    channel_index: int,
    channel: str,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO notifications (notification_id, page_id, alert_id, contact_id, level, channel_index, channel, "
        "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        notification_id,
        page_id,
        alert_id,
        contact_id,
        level,
        channel_index,
        channel,
        at,
    )


async def expand_page(
    conn: Conn,
    page_id: int,
    candidates: Sequence[UUID],
    notification_id: UUID,
    alert_id: UUID,
    level: str,
    channel: str,
    at: datetime,
) -> None:
    """A page expanded to its people on call and the first one's notification, in one round trip."""
    await conn.execute(
        """
        WITH expanded AS (
            UPDATE pages SET state = 'expanded', candidates = $2, candidate = 0 WHERE page_id = $1
        )
        INSERT INTO notifications (notification_id, page_id, alert_id, contact_id, level, channel_index, channel,
                                   next_attempt_at, created_at)
        VALUES ($3, $1, $4, $5, $6, 0, $7, $8, $8)
        """,
        page_id,
        list(candidates),
        notification_id,
        alert_id,
        candidates[0],
        level,
        channel,
        at,
    )


async def due_notifications(conn: Conn, at: datetime, limit: int = 50) -> list[Row]:
    """Pending notifications whose time has come, with what a message needs, locked (one replica sends each)."""
    return list(
        await conn.fetch(
            """
            WITH due AS (  -- the rows first, on the partial index alone: a backlog does not slow each claim
                SELECT notification_id FROM notifications
                WHERE state = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            SELECT n.*, p.candidates, p.candidate, c.sealed, c.residence, c.erased_at, c.language, c.channel_kinds,
                   a.state AS alert_state, a.drill, a.severity, a.headline, a.event, a.area_desc, a.received_at,
                   a.place
            FROM due JOIN notifications n USING (notification_id)
            JOIN pages p USING (page_id) JOIN contacts c USING (contact_id) JOIN alerts a ON a.alert_id = n.alert_id
            ORDER BY n.next_attempt_at
            """,
            at,
            limit,
        )
    )


async def record_attempt(
    conn: Conn,
    notification_id: UUID,
    at: datetime,
    channel: str,
    channel_index: int,
    attempt: int,
    ok: bool,
    reason: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO notification_attempts (notification_id, at, channel, channel_index, attempt, ok, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        notification_id,
        at,
        channel,
        channel_index,
        attempt,
        ok,
        reason,
    )


async def update_notification(
    conn: Conn,
    notification_id: UUID,
    *,
    state: str,
    attempts: int,
    channel_index: int,
    channel: str,
    next_attempt_at: datetime,
    sent_at: datetime | None = None,
    reply_code: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE notifications SET state = $2, attempts = $3, channel_index = $4, channel = $5, next_attempt_at = $6, "
        "sent_at = COALESCE($7, sent_at), reply_code = COALESCE($8, reply_code) WHERE notification_id = $1",
        notification_id,
        state,
        attempts,
        channel_index,
        channel,
        next_attempt_at,
        sent_at,
        reply_code,
    )


async def mark_delivered(conn: Conn, notification_id: UUID, at: datetime) -> bool:
    """Record the first evidence of delivery; False when it was already recorded (announced once)."""
    done = await conn.fetchval(
        "UPDATE notifications SET delivered_at = $2 WHERE notification_id = $1 AND delivered_at IS NULL RETURNING true",
        notification_id,
        at,
    )
    return bool(done)


async def notifications_by_reply_code(conn: Conn, code: str) -> list[Row]:
    """The sent notifications carrying ``code`` (newest first) with their contact's sealed part, locked."""
    return list(
        await conn.fetch(
            """
            SELECT n.notification_id, n.alert_id, n.contact_id, n.channel, n.level, n.sent_at, n.ack_used_at,
                   n.delivered_at, c.sealed, c.residence, c.erased_at, a.drill
            FROM notifications n JOIN contacts c USING (contact_id) JOIN alerts a ON a.alert_id = n.alert_id
            WHERE n.reply_code = $1 AND n.sent_at IS NOT NULL
            ORDER BY n.sent_at DESC FOR UPDATE OF n
            """,
            code,
        )
    )


async def advance_page(conn: Conn, page_id: int, candidate: int) -> None:
    await conn.execute("UPDATE pages SET candidate = $2 WHERE page_id = $1", page_id, candidate)


async def notification_for_link(conn: Conn, notification_id: UUID) -> Row | None:
    """A notification with its contact's language and its alert, locked: the link acknowledges once."""
    return await conn.fetchrow(
        """
        SELECT n.notification_id, n.alert_id, n.contact_id, n.channel, n.level, n.ack_used_at, n.delivered_at,
               c.language, a.headline, a.event, a.area_desc, a.drill
        FROM notifications n JOIN contacts c USING (contact_id) JOIN alerts a ON a.alert_id = n.alert_id
        WHERE n.notification_id = $1 FOR UPDATE OF n
        """,
        notification_id,
    )


async def use_link(conn: Conn, notification_id: UUID, at: datetime) -> None:
    await conn.execute("UPDATE notifications SET ack_used_at = $2 WHERE notification_id = $1", notification_id, at)


async def notifications_of(conn: Conn, alert_id: UUID) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT notification_id, contact_id, level, channel, channel_index, attempts, state, created_at, sent_at, "
            "delivered_at, ack_used_at FROM notifications WHERE alert_id = $1 ORDER BY created_at",
            alert_id,
        )
    )
