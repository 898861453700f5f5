"""SQL of partners, their secrets and the devices they may speak for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lsg_alerts.adapters.postgres.rows import Row
from lsg_shared.db import Conn


async def insert_partner(conn: Conn, partner_id: str, label: dict[str, Any] | None, kind: str) -> bool:
    row = await conn.fetchval(
        "INSERT INTO partners (partner_id, label, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
        partner_id,
        label,
        kind,
    )
    return row is not None


async def lock_partner(conn: Conn, partner_id: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM partners WHERE partner_id = $1 FOR UPDATE", partner_id)


async def get_partner(conn: Conn, partner_id: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM partners WHERE partner_id = $1", partner_id)


async def list_partners(conn: Conn) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM partners ORDER BY partner_id"))


async def active_secrets(conn: Conn, partner_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT secret_id, ciphertext, created_at FROM partner_secrets "
            "WHERE partner_id = $1 AND retired_at IS NULL ORDER BY created_at, secret_id",
            partner_id,
        )
    )


async def insert_secret(conn: Conn, secret_id: str, partner_id: str, ciphertext: bytes, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO partner_secrets (secret_id, partner_id, ciphertext, created_at) VALUES ($1, $2, $3, $4)",
        secret_id,
        partner_id,
        ciphertext,
        now,
    )


async def retire_secret(conn: Conn, partner_id: str, secret_id: str, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE partner_secrets SET retired_at = $3 WHERE partner_id = $1 AND secret_id = $2 AND retired_at IS NULL",
        partner_id,
        secret_id,
        now,
    )
    return result.endswith(" 1")


async def partner_device_ids(conn: Conn, partner_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT device_id FROM partner_devices WHERE partner_id = $1 ORDER BY device_id", partner_id
    )
    return [r["device_id"] for r in rows]


async def grant_devices(conn: Conn, partner_id: str, device_ids: Sequence[str]) -> None:
    await conn.execute(
        "INSERT INTO partner_devices (partner_id, device_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
        partner_id,
        list(device_ids),
    )


async def revoke_other_devices(conn: Conn, partner_id: str, keep: Sequence[str]) -> None:
    """Drop grants not in `keep`, except the devices the partner owns."""
    await conn.execute(
        """
        DELETE FROM partner_devices pd WHERE pd.partner_id = $1 AND NOT (pd.device_id = ANY($2::text[]))
          AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = pd.device_id AND d.partner_id = $1)
        """,
        partner_id,
        list(keep),
    )


async def may_speak_for(conn: Conn, partner_id: str, device_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM partner_devices WHERE partner_id = $1 AND device_id = $2)",
            partner_id,
            device_id,
        )
    )


async def set_publish(conn: Conn, partner_id: str, publish: bool) -> None:
    await conn.execute(
        "UPDATE partners SET publish = $2, updated_at = now() WHERE partner_id = $1", partner_id, publish
    )


async def active_certificates(conn: Conn, partner_id: str) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT certificate_id, ciphertext, fingerprint, subject, not_after, created_at FROM partner_certificates "
            "WHERE partner_id = $1 AND retired_at IS NULL ORDER BY created_at, certificate_id",
            partner_id,
        )
    )


async def insert_certificate(
    conn: Conn, certificate_id: str, partner_id: str, ciphertext: bytes, cert: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO partner_certificates (certificate_id, partner_id, ciphertext, fingerprint, subject, not_after, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        certificate_id,
        partner_id,
        ciphertext,
        cert["fingerprint"],
        cert["subject"],
        cert["not_after"],
        now,
    )


async def retire_certificate(conn: Conn, partner_id: str, certificate_id: str, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE partner_certificates SET retired_at = $3 "
        "WHERE partner_id = $1 AND certificate_id = $2 AND retired_at IS NULL",
        partner_id,
        certificate_id,
        now,
    )
    return result.endswith(" 1")
