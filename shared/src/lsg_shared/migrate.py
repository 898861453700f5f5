"""A small runner for numbered ``.sql`` migrations.

Each component (``lsg_shared`` first, then the service) keeps files named ``NNNN_description.sql`` in a
``migrations`` package folder. Applied versions are recorded in ``lsg_schema_migrations``; a PostgreSQL
advisory lock makes concurrent starts (several replicas, or the chart's Job) safe.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from lsg_shared.db import Conn

_NAME = re.compile(r"^(\d{4})_([\w-]+)\.sql$")
_LOCK_ID = 0x15_65_0001


@dataclass(frozen=True, slots=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(package: str, component: str | None = None) -> list[Migration]:
    """The migrations shipped in ``<package>.migrations``, in version order."""
    folder = resources.files(package).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(component or package, int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration version in {package}: {versions}")
    return found


async def _ensure_table(conn: Conn) -> None:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS lsg_schema_migrations (
            component  text        NOT NULL,
            version    integer     NOT NULL,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (component, version)
        )
        """
    )


async def apply(conn: Conn, migrations: list[Migration]) -> list[Migration]:
    """Apply those not yet applied, each in its own transaction. Returns what was applied now."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await _ensure_table(conn)
        rows = await conn.fetch("SELECT component, version, checksum FROM lsg_schema_migrations")
        done = {(r["component"], r["version"]): r["checksum"] for r in rows}
        applied: list[Migration] = []
        for migration in migrations:
            key = (migration.component, migration.version)
            if key in done:
                if done[key] != migration.checksum:
                    raise RuntimeError(
                        f"migration {migration.component} {migration.version:04d}_{migration.name} was changed "
                        "after it was applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO lsg_schema_migrations (component, version, name, checksum) VALUES ($1,$2,$3,$4)",
                    migration.component,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied.append(migration)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def pending(conn: Conn, migrations: list[Migration]) -> list[Migration]:
    """Migrations not applied yet (readiness reports not-ready while any is pending)."""
    exists = await conn.fetchval("SELECT to_regclass('lsg_schema_migrations') IS NOT NULL")
    if not exists:
        return list(migrations)
    rows = await conn.fetch("SELECT component, version FROM lsg_schema_migrations")
    done = {(r["component"], r["version"]) for r in rows}
    return [m for m in migrations if (m.component, m.version) not in done]


def for_service(package: str) -> list[Migration]:
    """The shared plumbing's migrations followed by the service's own."""
    return discover("lsg_shared", "lsg_shared") + discover(package)
