"""SQL of the shared partner rate limit (issue 29): one token bucket row per partner, for every replica.

One upsert refills the bucket from the database's clock (``statement_timestamp()``: one clock for all replicas,
constant within the statement) and takes up to ``want`` whole tokens from it, atomically (the row is locked by
the upsert). It returns what it granted and what is left, so a refusal can say when to come back.
"""

from __future__ import annotations

from lsg_shared.db import Conn

# `b.*` in the SET list is the row before the update, so `refilled` is computed from the stored state twice
# (the SQL has no let); both expressions are the same.
_TAKE = """
INSERT INTO partner_rate_buckets AS b (partner_id, tokens, granted, updated_at)
VALUES ($1, $3::float8 - LEAST($4::int, floor($3::float8)::int), LEAST($4::int, floor($3::float8)::int),
        statement_timestamp())
ON CONFLICT (partner_id) DO UPDATE SET
    granted = LEAST($4::int, floor(LEAST($3::float8, b.tokens + $2::float8 * GREATEST(0.0,
              extract(epoch FROM statement_timestamp() - b.updated_at)::float8)))::int),
    tokens = LEAST($3::float8, b.tokens + $2::float8 * GREATEST(0.0,
             extract(epoch FROM statement_timestamp() - b.updated_at)::float8))
             - LEAST($4::int, floor(LEAST($3::float8, b.tokens + $2::float8 * GREATEST(0.0,
               extract(epoch FROM statement_timestamp() - b.updated_at)::float8)))::int),
    updated_at = statement_timestamp()
RETURNING granted, tokens
"""


async def take_tokens(conn: Conn, partner_id: str, rate_per_s: float, burst: int, want: int) -> tuple[int, float]:
    """Take up to ``want`` tokens from the partner's shared bucket: (tokens granted, tokens left after)."""
    row = await conn.fetchrow(_TAKE, partner_id, float(rate_per_s), float(burst), int(want))
    assert row is not None  # an upsert always returns its row
    return int(row["granted"]), float(row["tokens"])
