"""PostgreSQL connection helpers (asyncpg)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What repositories receive: a plain connection or a pooled one (same API).
Conn = asyncpg.Connection | PoolConnectionProxy


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects, so repositories never hand-encode JSON.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool beyond asyncpg's own rollback: nothing.

    asyncpg's default reset sends ``CLOSE ALL; UNLISTEN *; RESET ALL; SELECT pg_advisory_unlock_all()`` on
    every release: a round trip per request on the partner alert path. The suite leaves no session state
    to undo: settings are transaction-local (``set_config(..., true)``), advisory locks are transaction-scoped
    or released in ``finally`` (migrations, rebuild), cursors live inside transactions, and the outbox relay
    unlistens before it releases its connection. An open transaction is still rolled back by asyncpg."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    kwargs.setdefault("reset", _keep_session)
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs)
    assert pool is not None
    return pool


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or "postgres"


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def ensure_database(dsn: str) -> None:
    """Create the DSN's database when it does not exist (dev and tests; production DBs are provisioned)."""
    name = database_name(dsn)
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(with_database(dsn, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
    else:
        await conn.close()
