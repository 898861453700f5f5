"""The countries' personal databases (residency): every SQL statement on ``participant_personal``.

One database per configured country (``LSG_TRAINING_PERSONAL_DATABASE_URL_LV``, ``..._RU``) holds the personal
fields of that country's participants, keyed by the participant's id in the service's main database. The table is
created at start-up (it is the only one there). Nothing else of the service is stored in these databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from lsg_shared.personal import CountryDatabases

SCHEMA = """
CREATE TABLE IF NOT EXISTS participant_personal (
    id           uuid        PRIMARY KEY,      -- participants.id in the training service's main database
    ref          text        UNIQUE,
    identity     text        NOT NULL UNIQUE,
    full_name    text        NOT NULL,
    email        text,
    phone        text,
    organisation text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
)
"""
COLUMNS = ("ref", "identity", "full_name", "email", "phone", "organisation")


class PersonalDatabases(CountryDatabases):
    """This service's table in each country's database; the pools, ``delete`` and ``settled_ids`` are the shared
    ``CountryDatabases``."""

    schema = SCHEMA
    table = "participant_personal"
    key_column = "id"

    async def put(self, country: str, participant_id: uuid.UUID, fields: Mapping[str, Any]) -> None:
        """Insert or replace the person's fields (all of ``COLUMNS``)."""
        async with self._pool(country).acquire() as conn:
            await conn.execute(
                """
                INSERT INTO participant_personal (id, ref, identity, full_name, email, phone, organisation)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET ref = EXCLUDED.ref, identity = EXCLUDED.identity,
                    full_name = EXCLUDED.full_name, email = EXCLUDED.email, phone = EXCLUDED.phone,
                    organisation = EXCLUDED.organisation, updated_at = now()
                """,
                participant_id,
                *(fields.get(c) for c in COLUMNS),
            )

    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        if not ids:
            return {}
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch("SELECT * FROM participant_personal WHERE id = ANY($1::uuid[])", list(ids))
        return {r["id"]: dict(r) for r in rows}
