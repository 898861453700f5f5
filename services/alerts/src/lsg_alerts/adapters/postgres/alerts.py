"""SQL of CAP messages and alerts: claims, the one-statement raise, content, state, history, escalation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from lsg_alerts.adapters.postgres.rows import Row, place_columns
from lsg_events.geography import Place
from lsg_shared import outbox
from lsg_shared.db import Conn


async def claim_cap_message(conn: Conn, m: dict[str, Any]) -> Row | None:
    """Record a CAP message by its identity; None when it was already received (a repeat)."""
    return await conn.fetchrow(
        """
        INSERT INTO cap_messages (sender, identifier, sent, partner_id, door, msg_type, cap_status, received_at,
                                  cap_version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING sender
        """,
        m["sender"],
        m["identifier"],
        m["sent"],
        m["partner_id"],
        m["door"],
        m["msg_type"],
        m["cap_status"],
        m["received_at"],
        m.get("cap_version"),
    )


async def claim_for_device(conn: Conn, m: dict[str, Any], device_id: str) -> Row:
    """One round trip on the hot path: may the partner speak for the device, claim the CAP identity (only
    when it may), and read the device. ``allowed`` / ``fresh`` say how it went."""
    row = await conn.fetchrow(
        """
        WITH allowed AS (
            SELECT EXISTS (SELECT 1 FROM partner_devices WHERE partner_id = $4 AND device_id = $10) AS ok
        ), claim AS (
            INSERT INTO cap_messages (sender, identifier, sent, partner_id, door, msg_type, cap_status, received_at,
                                      alert_id, cap_version)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $11 FROM allowed WHERE ok
            ON CONFLICT DO NOTHING RETURNING 1
        )
        SELECT (SELECT ok FROM allowed) AS allowed, (SELECT count(*) FROM claim) = 1 AS fresh, d.*
        FROM (SELECT 1) AS one LEFT JOIN devices d ON d.device_id = $10
        """,
        m["sender"],
        m["identifier"],
        m["sent"],
        m["partner_id"],
        m["door"],
        m["msg_type"],
        m["cap_status"],
        m["received_at"],
        m.get("alert_id"),
        device_id,
        m.get("cap_version"),
    )
    assert row is not None
    return row


async def device_place(conn: Conn, device_id: str) -> Row | None:
    return await conn.fetchrow("SELECT device_id, place FROM devices WHERE device_id = $1", device_id)


_RAISE_FOR_DEVICE = f"""
WITH allowed AS (
    SELECT EXISTS (SELECT 1 FROM partner_devices WHERE partner_id = $4 AND device_id = $10) AS ok
), claim AS (
    INSERT INTO cap_messages (sender, identifier, sent, partner_id, door, msg_type, cap_status, received_at, alert_id,
                              cap_version)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $39 FROM allowed WHERE ok
    ON CONFLICT DO NOTHING RETURNING alert_id
), alert AS (
    INSERT INTO alerts (alert_id, origin, kind, partner_id, device_id, sender, identifier, sent, cap_status,
                        msg_type, drill, category, event, urgency, severity, certainty, headline, area_desc,
                        place, country, municipality_code, territory_code, settlement_code, expires,
                        received_at, state, escalation_level, escalation_count, ack_deadline,
                        next_escalation_at, updated_at, cap, cap_version)
    SELECT claim.alert_id, $11, $12, $4, $10, $1, $2, $3, $7, $6, $13, $14, $15, $16, $17, $18, $19, $20,
           $21, $22, $23, $24, $25, $26, $8, 'raised', $27, 0, $28, $28, $8, $29, $39
    FROM claim
    RETURNING alert_id
), history AS (
    INSERT INTO alert_history (alert_id, at, action, actor, level, detail)
    SELECT alert_id, $8, 'raised', $30, $27, $31 FROM alert
), paged AS (  -- reach the first level's person on call (domain.lifecycle.notifies: not Minor)
    INSERT INTO pages (alert_id, level, drill, created_at)
    SELECT alert_id, $27, $13, $8 FROM alert WHERE $27::text IS NOT NULL AND $17::text <> 'Minor'
), stored AS (
    INSERT INTO lsg_outbox ({", ".join(outbox.COLUMNS)})
    SELECT $32, $33, $34, $35, $36, $37::text::jsonb FROM alert
    ON CONFLICT (event_id) DO NOTHING RETURNING 1
)
SELECT (SELECT ok FROM allowed) AS allowed, EXISTS (SELECT 1 FROM claim) AS fresh,
       (SELECT count(*) FROM (SELECT pg_notify($38, '') FROM stored) AS n) AS notified
"""


async def raise_for_device(
    conn: Conn,
    claim: dict[str, Any],
    a: dict[str, Any],
    actor: str,
    detail: dict[str, Any],
    event: outbox.OutboxRow,
) -> tuple[bool, bool]:
    """The hot path in one statement (so one round trip, atomic without an explicit transaction): may the
    partner speak for the device; claim the CAP identity (only when it may); when the claim is new, insert the
    alert, its first history line and its ``alert.raised`` outbox row, and wake the relay.
    Returns (allowed, fresh): nothing was written unless both are true."""
    place: Place = a["place"]
    row = await conn.fetchrow(
        _RAISE_FOR_DEVICE,
        claim["sender"],
        claim["identifier"],
        claim["sent"],
        claim["partner_id"],
        claim["door"],
        claim["msg_type"],
        claim["cap_status"],
        claim["received_at"],
        claim["alert_id"],
        a["device_id"],
        a["origin"],
        a["kind"],
        a["drill"],
        a["category"],
        a["event"],
        a["urgency"],
        a["severity"],
        a["certainty"],
        a.get("headline"),
        a["area_desc"],
        a["place_json"],
        *place_columns(place),
        a.get("expires"),
        a.get("escalation_level"),
        a.get("ack_deadline"),
        a.get("cap"),
        actor,
        detail,
        *event,
        outbox.CHANNEL,
        claim.get("cap_version"),
    )
    assert row is not None
    return bool(row["allowed"]), bool(row["fresh"])


async def cap_message(conn: Conn, sender: str, identifier: str, sent: datetime) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM cap_messages WHERE sender = $1 AND identifier = $2 AND sent = $3", sender, identifier, sent
    )


async def link_cap_message(conn: Conn, sender: str, identifier: str, sent: datetime, alert_id: UUID) -> None:
    await conn.execute(
        "UPDATE cap_messages SET alert_id = $4 WHERE sender = $1 AND identifier = $2 AND sent = $3",
        sender,
        identifier,
        sent,
        alert_id,
    )


async def insert_alert(conn: Conn, a: dict[str, Any], actor: str | None, detail: dict[str, Any]) -> None:
    """The alert, its first history line ('raised') and its first page (not for Minor), in one statement."""
    place: Place = a["place"]
    await conn.execute(
        """
        WITH inserted AS (
        INSERT INTO alerts (alert_id, origin, kind, partner_id, device_id, sender, identifier, sent, cap_status,
                            msg_type, drill, category, event, urgency, severity, certainty, headline, area_desc,
                            place, country, municipality_code, territory_code, settlement_code, expires,
                            received_at, state, escalation_level, escalation_count, ack_deadline,
                            next_escalation_at, updated_at, cap, cap_version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                $22, $23, $24, $25, 'raised', $26, 0, $27, $27, $25, $28, $31)
        RETURNING alert_id
        ), paged AS (  -- reach the first level's person on call (domain.lifecycle.notifies: not Minor)
        INSERT INTO pages (alert_id, level, drill, created_at)
        SELECT alert_id, $26, $11, $25 FROM inserted WHERE $26::text IS NOT NULL AND $15::text <> 'Minor'
        )
        INSERT INTO alert_history (alert_id, at, action, actor, level, detail)
        SELECT alert_id, $25, 'raised', $29, $26, $30 FROM inserted
        """,
        a["alert_id"],
        a["origin"],
        a["kind"],
        a["partner_id"],
        a.get("device_id"),
        a["sender"],
        a["identifier"],
        a["sent"],
        a["cap_status"],
        a["msg_type"],
        a["drill"],
        a["category"],
        a["event"],
        a["urgency"],
        a["severity"],
        a["certainty"],
        a.get("headline"),
        a["area_desc"],
        place.model_dump(mode="json"),
        *place_columns(place),
        a.get("expires"),
        a["received_at"],
        a.get("escalation_level"),
        a.get("ack_deadline"),
        a.get("cap"),
        actor,
        detail,
        a.get("cap_version"),
    )


async def update_alert_content(conn: Conn, alert_id: UUID, a: dict[str, Any]) -> None:
    await conn.execute(
        """
        UPDATE alerts SET msg_type = 'Update', category = $2, event = $3, urgency = $4, severity = $5,
               certainty = $6, headline = $7, area_desc = $8, expires = $9, ack_deadline = $10,
               next_escalation_at = CASE WHEN state = 'raised' THEN $10::timestamptz ELSE NULL END,
               updated_at = $11, cap = $12, cap_version = $13
        WHERE alert_id = $1
        """,
        alert_id,
        a["category"],
        a["event"],
        a["urgency"],
        a["severity"],
        a["certainty"],
        a.get("headline"),
        a["area_desc"],
        a.get("expires"),
        a.get("ack_deadline"),
        a["received_at"],
        a.get("cap"),
        a.get("cap_version"),
    )


async def get_alert(conn: Conn, alert_id: UUID, *, lock: bool = False) -> Row | None:
    sql = "SELECT * FROM alerts WHERE alert_id = $1" + (" FOR UPDATE" if lock else "")
    return await conn.fetchrow(sql, alert_id)


async def set_alert_state(conn: Conn, alert_id: UUID, state: str, now: datetime, **fields: Any) -> None:
    allowed = {"acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "cancelled_at"}
    sets = ["state = $2", "updated_at = $3", "next_escalation_at = NULL"]
    values: list[Any] = [alert_id, state, now]
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(name)
        values.append(value)
        sets.append(f"{name} = ${len(values)}")
    await conn.execute(f"UPDATE alerts SET {', '.join(sets)} WHERE alert_id = $1", *values)


async def add_history(
    conn: Conn,
    alert_id: UUID,
    at: datetime,
    action: str,
    *,
    actor: str | None = None,
    level: str | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO alert_history (alert_id, at, action, actor, level, note, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        alert_id,
        at,
        action,
        actor,
        level,
        note,
        detail,
    )


async def history(conn: Conn, alert_id: UUID) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT at, action, actor, level, note, detail FROM alert_history WHERE alert_id = $1 ORDER BY id",
            alert_id,
        )
    )


async def due_escalations(conn: Conn, now: datetime, limit: int = 100) -> list[Row]:
    """Raised alerts past their stored deadline, locked so that one replica escalates each."""
    return list(
        await conn.fetch(
            """
            SELECT * FROM alerts WHERE next_escalation_at <= $1 AND state = 'raised'
            ORDER BY next_escalation_at LIMIT $2 FOR UPDATE SKIP LOCKED
            """,
            now,
            limit,
        )
    )


async def set_escalated(conn: Conn, alert_id: UUID, level: str, count: int, next_at: datetime | None) -> None:
    await conn.execute(
        "UPDATE alerts SET escalation_level = $2, escalation_count = $3, next_escalation_at = $4, "
        "updated_at = now() WHERE alert_id = $1",
        alert_id,
        level,
        count,
        next_at,
    )


async def list_alerts(conn: Conn, f: dict[str, Any]) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT * FROM alerts
            WHERE ($1::text[] IS NULL OR state = ANY($1::text[]))
              AND ($2::text[] IS NULL OR severity = ANY($2::text[]))
              AND ($3::text IS NULL OR $3 IN (country, municipality_code, territory_code, settlement_code))
              AND ($4::timestamptz IS NULL OR received_at >= $4)
              AND ($5::timestamptz IS NULL OR received_at < $5)
              AND ($6::boolean IS NULL OR drill = $6)
              AND ($7::text IS NULL OR device_id = $7)
              AND ($8::text IS NULL OR partner_id = $8)
            ORDER BY received_at DESC, alert_id
            LIMIT $9 OFFSET $10
            """,
            f.get("states"),
            f.get("severities"),
            f.get("area"),
            f.get("since"),
            f.get("until"),
            f.get("drill"),
            f.get("device_id"),
            f.get("partner_id"),
            f["limit"],
            f["offset"],
        )
    )


async def public_alerts(conn: Conn, now: datetime, cancelled_since: datetime, limit: int) -> list[Row]:
    """The alerts the public CAP feed carries: Actual (never a drill), scope Public, from partners allowed to
    publish, not expired; open, or cancelled since `cancelled_since` (the Cancel stays visible a while)."""
    return list(
        await conn.fetch(
            """
            SELECT a.alert_id, a.sender, a.identifier, a.sent, a.msg_type, a.state, a.received_at, a.updated_at,
                   a.cancelled_at, a.expires, a.headline, a.event, a.severity, a.area_desc, a.cap, a.cap_version
            FROM alerts a JOIN partners p ON p.partner_id = a.partner_id AND p.publish
            WHERE a.cap_status = 'Actual' AND NOT a.drill AND a.origin = 'partner' AND a.cap ->> 'scope' = 'Public'
              AND (a.expires IS NULL OR a.expires > $1)
              AND (a.state IN ('raised', 'acknowledged', 'escalated')
                   OR (a.state = 'cancelled' AND a.cancelled_at >= $2))
            ORDER BY a.updated_at DESC, a.alert_id
            LIMIT $3
            """,
            now,
            cancelled_since,
            limit,
        )
    )
