"""The countries' personal databases (residency): every SQL statement on ``respondent_personal``.

One database per configured country (``LSG_SURVEYS_PERSONAL_DATABASE_URL_LV``, ``..._RU``) holds the personal
fields of that country's respondents (name, phone, external reference, free-text answers), keyed by the response's
id in the service's main database. The table is created at start-up (it is the only one there).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from lsg_shared.personal import CountryDatabases

SCHEMA = """
CREATE TABLE IF NOT EXISTS respondent_personal (
    response_id      uuid        PRIMARY KEY,   -- survey_responses.response_id in the surveys main database
    respondent_name  text,
    respondent_phone text,
    respondent_ref   text,
    free_text        jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
)
"""
COLUMNS = ("respondent_name", "respondent_phone", "respondent_ref", "free_text")


def _row(r: asyncpg.Record) -> dict[str, Any]:
    out = dict(r)
    if isinstance(out.get("free_text"), str):  # a pool without the JSON codec
        out["free_text"] = json.loads(out["free_text"])
    return out


class PersonalDatabases(CountryDatabases):
    """This service's table in each country's database; the pools, ``delete`` and ``settled_ids`` are the shared
    ``CountryDatabases``."""

    schema = SCHEMA
    table = "respondent_personal"
    key_column = "response_id"

    async def put_many(self, country: str, rows: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]) -> None:
        """Insert the responses' personal fields, or merge an edit's into the stored ones (a field the edit does
        not give is kept; free text is replaced, as in the main database)."""
        if not rows:
            return
        async with self._pool(country).acquire() as conn:
            await conn.executemany(
                """
                INSERT INTO respondent_personal (response_id, respondent_name, respondent_phone, respondent_ref,
                    free_text)
                VALUES ($1, $2, $3, $4, $5::text::jsonb)
                ON CONFLICT (response_id) DO UPDATE SET
                    respondent_name = COALESCE(EXCLUDED.respondent_name, respondent_personal.respondent_name),
                    respondent_phone = COALESCE(EXCLUDED.respondent_phone, respondent_personal.respondent_phone),
                    respondent_ref = COALESCE(EXCLUDED.respondent_ref, respondent_personal.respondent_ref),
                    free_text = EXCLUDED.free_text, updated_at = now()
                """,
                [
                    (
                        rid,
                        f.get("respondent_name"),
                        f.get("respondent_phone"),
                        f.get("respondent_ref"),
                        json.dumps(f["free_text"]) if f.get("free_text") else None,
                    )
                    for rid, f in rows
                ],
            )

    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        if not ids:
            return {}
        async with self._pool(country).acquire() as conn:
            rows = await conn.fetch(
                "SELECT response_id, respondent_name, respondent_phone, respondent_ref, free_text::text AS free_text "
                "FROM respondent_personal WHERE response_id = ANY($1::uuid[])",
                list(ids),
            )
        return {r["response_id"]: _row(r) for r in rows}
