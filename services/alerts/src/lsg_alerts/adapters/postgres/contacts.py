"""SQL of contacts (personal data sealed), on-call rotas and their overrides."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lsg_alerts.adapters.postgres.rows import Row
from lsg_shared.db import Conn


async def insert_contact(
    conn: Conn,
    contact_id: UUID,
    sealed: bytes | None,
    language: str,
    drills: bool,
    channel_kinds: Sequence[str],
    country: str,
    municipality_code: str | None,
    residence: str | None = None,
) -> Row:
    """``sealed`` is None when the country's personal database holds it (``residence``)."""
    row = await conn.fetchrow(
        "INSERT INTO contacts (contact_id, sealed, language, drills, channel_kinds, country, municipality_code, "
        "residence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        contact_id,
        sealed,
        language,
        drills,
        list(channel_kinds),
        country,
        municipality_code,
        residence,
    )
    assert row is not None
    return row


async def get_contact(conn: Conn, contact_id: UUID, *, lock: bool = False) -> Row | None:
    sql = "SELECT * FROM contacts WHERE contact_id = $1" + (" FOR UPDATE" if lock else "")
    return await conn.fetchrow(sql, contact_id)


async def contacts_by_id(conn: Conn, ids: Sequence[UUID]) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM contacts WHERE contact_id = ANY($1::uuid[])", list(ids)))


async def list_contacts(conn: Conn, limit: int, offset: int) -> list[Row]:
    return list(
        await conn.fetch("SELECT * FROM contacts ORDER BY created_at, contact_id LIMIT $1 OFFSET $2", limit, offset)
    )


async def living_contacts(conn: Conn) -> list[Row]:
    """Every contact not yet erased (the privacy fan-out opens each to match a request's tokens)."""
    return list(await conn.fetch("SELECT * FROM contacts WHERE erased_at IS NULL ORDER BY created_at"))


async def all_contacts_ever(conn: Conn) -> list[Row]:
    """Every contact, erased ones included (an access request by id shows what is left: the id and its history)."""
    return list(await conn.fetch("SELECT * FROM contacts ORDER BY created_at"))


async def erase_contact(conn: Conn, contact_id: UUID, at: datetime) -> None:
    """Forget the person: the sealed data goes, they leave every rota, and nothing pending is sent to them."""
    await conn.execute(
        """
        WITH erased AS (
            UPDATE contacts SET sealed = NULL, channel_kinds = '{}', erased_at = $2 WHERE contact_id = $1
        ), rotas_left AS (
            UPDATE rotas SET members = array_remove(members, $1) WHERE $1 = ANY(members)
        ), covers AS (
            DELETE FROM rota_overrides WHERE contact_id = $1
        )
        UPDATE notifications SET state = 'stopped' WHERE contact_id = $1 AND state = 'pending'
        """,
        contact_id,
        at,
    )


async def resident_contact_ids(conn: Conn, country: str, ids: Sequence[UUID]) -> set[UUID]:
    """Of `ids`, the living contacts whose personal part is in `country`'s database (the orphan sweep)."""
    rows = await conn.fetch(
        "SELECT contact_id FROM contacts WHERE residence = $1 AND erased_at IS NULL AND contact_id = ANY($2::uuid[])",
        country,
        list(ids),
    )
    return {r["contact_id"] for r in rows}


async def retention_candidates(conn: Conn, before: datetime) -> list[Row]:
    """Living contacts in no rota (and holding no override) whose last activity — registration, the last
    notification to them, the end of their last override — is before `before`."""
    return list(
        await conn.fetch(
            """
            SELECT c.contact_id, c.residence FROM contacts c
            WHERE c.erased_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM rotas r WHERE c.contact_id = ANY(r.members))
              AND GREATEST(
                    c.created_at,
                    (SELECT max(n.created_at) FROM notifications n WHERE n.contact_id = c.contact_id),
                    (SELECT max(o.ends_at) FROM rota_overrides o WHERE o.contact_id = c.contact_id)
                  ) < $1
            ORDER BY c.created_at
            """,
            before,
        )
    )


async def record_privacy_erasure(conn: Conn, request_id: str, requested: str, counts: dict[str, int]) -> bool:
    """Record an erasure (counts only); False when this request id was recorded before."""
    status = await conn.execute(
        "INSERT INTO contact_privacy_erasures (request_id, requested, counts) VALUES ($1, $2, $3::text::jsonb) "
        "ON CONFLICT (request_id) DO NOTHING",
        request_id,
        requested,
        json.dumps(counts),
    )
    return status.endswith(" 1")


async def rotas_with_member(conn: Conn, contact_id: UUID) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT rota_id, level, area_code, country, starts_at, shift_s, array_position(members, $1) AS turn "
            "FROM rotas WHERE $1 = ANY(members) ORDER BY created_at",
            contact_id,
        )
    )


async def overrides_of_contact(conn: Conn, contact_id: UUID) -> list[Row]:
    return list(await conn.fetch("SELECT * FROM rota_overrides WHERE contact_id = $1 ORDER BY starts_at", contact_id))


async def notifications_to(conn: Conn, contact_id: UUID) -> list[Row]:
    """Every notification to the contact, with its alert's headline and state."""
    return list(
        await conn.fetch(
            """
            SELECT n.notification_id, n.alert_id, n.level, n.channel, n.channel_index, n.attempts, n.state,
                   n.created_at, n.sent_at, n.ack_used_at, a.headline, a.event, a.state AS alert_state
            FROM notifications n JOIN alerts a ON a.alert_id = n.alert_id
            WHERE n.contact_id = $1 ORDER BY n.created_at
            """,
            contact_id,
        )
    )


async def acknowledgements_by(conn: Conn, contact_id: UUID) -> list[Row]:
    """The alert history lines the contact made through a notification's link (actor ``contact:<id>``)."""
    return list(
        await conn.fetch(
            "SELECT alert_id, at, action, detail FROM alert_history WHERE actor = $1 ORDER BY at",
            f"contact:{contact_id}",
        )
    )


async def attempts_of(conn: Conn, notification_ids: Sequence[UUID]) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM notification_attempts WHERE notification_id = ANY($1::uuid[]) ORDER BY at",
            list(notification_ids),
        )
    )


async def insert_rota(
    conn: Conn,
    rota_id: UUID,
    level: str,
    area_code: str,
    country: str,
    municipality_code: str | None,
    starts_at: datetime,
    shift_s: int,
    members: Sequence[UUID],
) -> Row:
    row = await conn.fetchrow(
        "INSERT INTO rotas (rota_id, level, area_code, country, municipality_code, starts_at, shift_s, members) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        rota_id,
        level,
        area_code,
        country,
        municipality_code,
        starts_at,
        shift_s,
        list(members),
    )
    assert row is not None
    return row


async def get_rota(conn: Conn, rota_id: UUID) -> Row | None:
    return await conn.fetchrow("SELECT * FROM rotas WHERE rota_id = $1", rota_id)


async def list_rotas(conn: Conn, area_code: str | None, limit: int, offset: int) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM rotas WHERE ($1::text IS NULL OR area_code = $1) "
            "ORDER BY level, area_code, created_at LIMIT $2 OFFSET $3",
            area_code,
            limit,
            offset,
        )
    )


async def rotas_for(conn: Conn, level: str, area_codes: Sequence[str]) -> list[Row]:
    """The rotas of a ladder level over any of the areas (an alert's settlement, territory, municipality, country)."""
    return list(
        await conn.fetch(
            "SELECT * FROM rotas WHERE level = $1 AND area_code = ANY($2::text[]) ORDER BY created_at",
            level,
            list(area_codes),
        )
    )


async def insert_override(
    conn: Conn, override_id: UUID, rota_id: UUID, contact_id: UUID, starts_at: datetime, ends_at: datetime
) -> Row:
    row = await conn.fetchrow(
        "INSERT INTO rota_overrides (override_id, rota_id, contact_id, starts_at, ends_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING *",
        override_id,
        rota_id,
        contact_id,
        starts_at,
        ends_at,
    )
    assert row is not None
    return row


async def overrides_of(conn: Conn, rota_ids: Sequence[UUID]) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM rota_overrides WHERE rota_id = ANY($1::uuid[]) ORDER BY starts_at", list(rota_ids)
        )
    )
