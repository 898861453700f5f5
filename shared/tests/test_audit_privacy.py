"""The audit log's user identities as personal data (issue 30), on real PostgreSQL: anonymised after the identity
retention (a moved clock), and one person's erased on request by subject token; what happened stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lsg_shared import audit, migrate, privacy

pytestmark = pytest.mark.integration

KEY = "audit-privacy-test-key"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _row(subject: str, days_ago: int) -> tuple[object, ...]:
    return (
        NOW - timedelta(days=days_ago), "training", "request", subject, "static", ["editor"], [], [],
        "POST /v1/participants", {}, None, 201, "198.51.100.7", "10.0.0.1", None, None, "curl/8.5",
    )  # fmt: skip


async def _rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM lsg_audit_log ORDER BY id"))


async def test_identities_are_anonymised_on_time_and_erased_on_request(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate.apply(conn, migrate.discover("lsg_shared", "lsg_shared"))
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        for subject, age in (("jberzins", 100), ("jberzins", 10), ("ops-bot", 95), ("ops-bot", 5)):
            await audit.store.insert(conn, _row(subject, age))

        # The clock is moved (`now`), not the rows: with 101 days nothing is due, with 90 the two old rows are.
        assert await audit.anonymise(conn, 101, now=NOW) == 0
        assert await audit.anonymise(conn, 90, now=NOW) == 2
        rows = await _rows(conn)
        old = [r for r in rows if r["occurred_at"] < NOW - timedelta(days=90)]
        assert all(r["subject"] == "anonymised" and r["client_addr"] is None and r["user_agent"] is None for r in old)
        assert all(r["action"] == "POST /v1/participants" and r["status"] == 201 for r in rows)
        assert await audit.anonymise(conn, 90, now=NOW) == 0  # done once

        # One person's identities on request: only their login's token, never the login, travels.
        tokens = privacy.subject_tokens(KEY, login="JBerzins ")
        assert await audit.erase_person(conn, KEY, tokens) == 1
        assert await audit.erase_person(conn, KEY, privacy.subject_tokens(KEY, email="x@y.lv")) == 0
        rows = await _rows(conn)
        assert "jberzins" not in str([dict(r) for r in rows])
        assert [r["subject"] for r in rows] == ["anonymised", "erased", "anonymised", "ops-bot"]
        assert rows[3]["client_addr"] == "198.51.100.7"  # other people's rows are untouched
    finally:
        await conn.close()
