"""SQL of devices: registration, status and its history, heartbeats, supervision scans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from lsg_alerts.adapters.postgres.partners import grant_devices
from lsg_alerts.adapters.postgres.rows import Row, place_columns
from lsg_events.geography import Place
from lsg_shared.db import Conn


async def insert_device(conn: Conn, d: dict[str, Any], now: datetime) -> bool:
    place: Place = d["place"]
    row = await conn.fetchval(
        """
        INSERT INTO devices (device_id, kind, label, place, country, municipality_code, territory_code,
                             settlement_code, latitude, longitude, partner_id, heartbeat_interval_s, status,
                             status_changed_at, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'planned', $13, $13)
        ON CONFLICT DO NOTHING RETURNING 1
        """,
        d["device_id"],
        d["kind"],
        d.get("label"),
        place.model_dump(mode="json"),
        *place_columns(place),
        d.get("latitude"),
        d.get("longitude"),
        d["partner_id"],
        d["heartbeat_interval_s"],
        now,
    )
    if row is None:
        return False
    await grant_devices(conn, d["partner_id"], [d["device_id"]])
    await add_status_history(conn, d["device_id"], None, "planned", "registered", now)
    return True


async def get_device(conn: Conn, device_id: str, *, lock: bool = False) -> Row | None:
    sql = "SELECT * FROM devices WHERE device_id = $1" + (" FOR UPDATE" if lock else "")
    return await conn.fetchrow(sql, device_id)


async def existing_device_ids(conn: Conn, device_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT device_id FROM devices WHERE device_id = ANY($1::text[])", list(device_ids))
    return {r["device_id"] for r in rows}


async def set_device_status(
    conn: Conn,
    device_id: str,
    previous: str | None,
    status: str,
    reason: str | None,
    now: datetime,
    *,
    offline_at: datetime | None,
) -> None:
    await conn.execute(
        "UPDATE devices SET status = $2, status_changed_at = $3, offline_at = $4 WHERE device_id = $1",
        device_id,
        status,
        now,
        offline_at,
    )
    await add_status_history(conn, device_id, previous, status, reason, now)


async def add_status_history(
    conn: Conn, device_id: str, previous: str | None, status: str, reason: str | None, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO device_status_history (device_id, previous_status, status, reason, changed_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        device_id,
        previous,
        status,
        reason,
        now,
    )


async def mark_installed(
    conn: Conn, device_id: str, installed_at: datetime, lat: float | None, lon: float | None
) -> None:
    await conn.execute(
        "UPDATE devices SET installed_at = $2, latitude = coalesce($3, latitude), longitude = coalesce($4, longitude) "
        "WHERE device_id = $1",
        device_id,
        installed_at,
        lat,
        lon,
    )


async def insert_heartbeat(conn: Conn, hb: dict[str, Any], now: datetime) -> bool:
    row = await conn.fetchval(
        """
        INSERT INTO heartbeats (device_id, sent_at, partner_id, received_at, battery_pct, signal_dbm, tamper)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1
        """,
        hb["device_id"],
        hb["sent_at"],
        hb["partner_id"],
        now,
        hb.get("battery_pct"),
        hb.get("signal_dbm"),
        hb.get("tamper", False),
    )
    return row is not None


async def record_heartbeat_on_device(
    conn: Conn, device_id: str, hb: dict[str, Any], now: datetime, offline_at: datetime | None
) -> bool:
    """The device was heard from now. Its battery, signal and tamper readings are taken only if it sent no later
    heartbeat that arrived first (an older one delivered late must not overwrite a newer reading): returns
    whether they were (the primary key of ``heartbeats`` answers it, in the same statement)."""
    newest = await conn.fetchval(
        """
        UPDATE devices SET last_heartbeat_at = $2, offline_at = $6,
               battery_pct = CASE WHEN n.newest THEN coalesce($3, battery_pct) ELSE battery_pct END,
               signal_dbm = CASE WHEN n.newest THEN coalesce($4, signal_dbm) ELSE signal_dbm END,
               tamper = CASE WHEN n.newest THEN $5 ELSE tamper END
        FROM (SELECT NOT EXISTS (SELECT 1 FROM heartbeats WHERE device_id = $1 AND sent_at > $7) AS newest) AS n
        WHERE device_id = $1
        RETURNING n.newest
        """,
        device_id,
        now,
        hb.get("battery_pct"),
        hb.get("signal_dbm"),
        hb.get("tamper", False),
        offline_at,
        hb["sent_at"],
    )
    return bool(newest)


async def set_device_alert(conn: Conn, device_id: str, column: str, alert_id: UUID | None) -> None:
    if column not in ("offline_alert_id", "low_battery_alert_id"):
        raise ValueError(column)
    await conn.execute(f"UPDATE devices SET {column} = $2 WHERE device_id = $1", device_id, alert_id)


async def due_offline(conn: Conn, now: datetime, limit: int = 100) -> list[Row]:
    """Supervised devices whose heartbeats are overdue, locked so one replica handles each."""
    return list(
        await conn.fetch(
            """
            SELECT * FROM devices WHERE offline_at <= $1 AND status IN ('installed', 'online')
            ORDER BY offline_at LIMIT $2 FOR UPDATE SKIP LOCKED
            """,
            now,
            limit,
        )
    )


async def list_devices(conn: Conn, status: str | None, area: str | None, partner_id: str | None) -> list[Row]:
    return list(
        await conn.fetch(
            """
            SELECT * FROM devices
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR $2 IN (country, municipality_code, territory_code, settlement_code))
              AND ($3::text IS NULL OR partner_id = $3)
            ORDER BY device_id
            """,
            status,
            area,
            partner_id,
        )
    )


async def status_history(conn: Conn, device_ids: Sequence[str]) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT device_id, status, changed_at FROM device_status_history WHERE device_id = ANY($1::text[]) "
            "ORDER BY device_id, changed_at, id",
            list(device_ids),
        )
    )
