"""SQL of the operator console: open alerts with who was notified, settlements on the map, and a change stamp."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from lsg_alerts.adapters.postgres.rows import Row
from lsg_shared.db import Conn

# CAP severities, worst first: the console lists the worst on top.
_SEVERITY_RANK = "CASE a.severity WHEN 'Extreme' THEN 0 WHEN 'Severe' THEN 1 WHEN 'Moderate' THEN 2 "
_SEVERITY_RANK += "WHEN 'Minor' THEN 3 ELSE 4 END"


async def open_alerts(conn: Conn, limit: int) -> list[Row]:
    """Alerts raised or acknowledged (not resolved, not cancelled), worst severity first, newest first within."""
    return list(
        await conn.fetch(
            f"""
            SELECT a.* FROM alerts a WHERE a.state IN ('raised', 'acknowledged')
            ORDER BY {_SEVERITY_RANK}, a.received_at DESC LIMIT $1
            """,
            limit,
        )
    )


async def notifications_of_alerts(conn: Conn, alert_ids: Sequence[UUID]) -> list[Row]:
    """Every notification of these alerts with its contact's sealed part (for the name shown to staff)."""
    return list(
        await conn.fetch(
            """
            SELECT n.notification_id, n.alert_id, n.contact_id, n.level, n.channel, n.attempts, n.state,
                   n.created_at, n.sent_at, n.delivered_at, n.ack_used_at, c.sealed, c.residence, c.erased_at
            FROM notifications n JOIN contacts c USING (contact_id)
            WHERE n.alert_id = ANY($1::uuid[]) ORDER BY n.created_at
            """,
            list(alert_ids),
        )
    )


async def settlements(conn: Conn) -> list[Row]:
    """Each settlement with registered coordinates: the mean of its devices' positions, their states, and its
    open alerts (count and worst severity)."""
    return list(
        await conn.fetch(
            f"""
            WITH places AS (
                SELECT d.settlement_code AS code, d.country, avg(d.latitude) AS latitude,
                       avg(d.longitude) AS longitude, (array_agg(d.place -> 'settlement' -> 'name'))[1] AS name,
                       count(*) AS devices,
                       count(*) FILTER (WHERE d.status = 'offline') AS offline
                FROM devices d
                WHERE d.settlement_code IS NOT NULL AND d.latitude IS NOT NULL AND d.longitude IS NOT NULL
                  AND d.status <> 'decommissioned'
                GROUP BY d.settlement_code, d.country
            ), open AS (
                SELECT a.settlement_code AS code, count(*) AS alerts, min({_SEVERITY_RANK}) AS worst
                FROM alerts a WHERE a.state IN ('raised', 'acknowledged') AND a.settlement_code IS NOT NULL
                GROUP BY a.settlement_code
            )
            SELECT p.*, coalesce(o.alerts, 0) AS alerts, o.worst
            FROM places p LEFT JOIN open o USING (code) ORDER BY p.code
            """
        )
    )


async def console_stamp(conn: Conn) -> str:
    """A value that changes whenever what the console shows changes (alerts, their notifications, devices):
    the ETag of its reads and the trigger of its live stream. Cheap: indexes and the open alerts only."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT max(id) FROM alert_history) AS history,
               (SELECT max(updated_at) FROM alerts) AS alerts,
               (SELECT count(*)::text || ':' || coalesce(max(n.sent_at)::text, '') || ':'
                       || count(*) FILTER (WHERE n.state = 'pending')::text || ':'
                       || count(*) FILTER (WHERE n.delivered_at IS NOT NULL)::text
                FROM notifications n JOIN alerts a ON a.alert_id = n.alert_id
                WHERE a.state IN ('raised', 'acknowledged')) AS notifications,
               (SELECT max(greatest(last_heartbeat_at, status_changed_at))::text || ':' || count(*)::text
                FROM devices) AS devices
        """
    )
    assert row is not None
    return "|".join(str(row[k]) for k in ("history", "alerts", "notifications", "devices"))
