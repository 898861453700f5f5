"""The countries' personal databases (residency): every SQL statement on ``contact_personal``.

One database per configured country (``LSG_ALERTS_PERSONAL_DATABASE_URL_LV``, ``..._RU``) holds the sealed personal
part of that country's contacts (name, e-mail addresses, webhook URLs and secrets, phone: the same Fernet-sealed
blob the main database holds otherwise), keyed by the contact's id in the service's main database. The table is
created at start-up (it is the only one there). The same shape as surveys' and training's ``adapters/personal.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from lsg_shared.personal import CountryDatabases

SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_personal (
    contact_id  uuid        PRIMARY KEY,   -- contacts.contact_id in the alerts main database
    sealed      bytea       NOT NULL,      -- Fernet: name, channels (addresses), phone
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
)
"""


class PersonalDatabases(CountryDatabases):
    """This service's table in each country's database; the pools, ``delete`` and ``settled_ids`` are the shared
    ``CountryDatabases``."""

    schema = SCHEMA
    table = "contact_personal"
    key_column = "contact_id"

    async def put(self, country: str, contact_id: uuid.UUID, sealed: bytes) -> None:
        async with self._pool(country).acquire() as conn:
            await conn.execute(
                "INSERT INTO contact_personal (contact_id, sealed) VALUES ($1, $2) "
                "ON CONFLICT (contact_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()",
                contact_id,
                sealed,
            )

    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        if not ids:
            return {}
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch(
                "SELECT contact_id, sealed FROM contact_personal WHERE contact_id = ANY($1::uuid[])", list(ids)
            )
        return {r["contact_id"]: bytes(r["sealed"]) for r in rows}
