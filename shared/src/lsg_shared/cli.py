"""The command line every service shares: ``lsg-<svc> serve`` and ``lsg-<svc> migrate``."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from lsg_shared import db, migrate
from lsg_shared.settings import ServiceSettings
from lsg_shared.telemetry import setup_logging


async def _migrate(settings: ServiceSettings, package: str) -> int:
    await db.ensure_database(settings.database_url)
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            applied = await migrate.apply(conn, migrate.for_service(package))
    finally:
        await pool.close()
    for m in applied:
        print(f"applied {m.component} {m.version:04d}_{m.name}")
    print(f"{len(applied)} migration(s) applied; schema is current")
    return 0


def run(
    name: str,
    package: str,
    settings_factory: Callable[[], ServiceSettings],
    app_factory: Callable[[], FastAPI],
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"lsg-{name}", description=f"LSG Events {name} service")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the HTTP API and Kafka consumers (default)")
    serve.add_argument("--port", type=int, default=None, help="overrides LSG_HTTP_PORT")
    sub.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)
    settings = settings_factory()
    if args.command == "migrate":
        setup_logging(name, fmt=settings.log_format, level=settings.log_level)
        return asyncio.run(_migrate(settings, package))
    port = getattr(args, "port", None) or settings.http_port
    app = app_factory()
    # Everything built so far (modules, models, routes, the app) lives as long as the process. Frozen, it is
    # left out of every later collection: a full collection of a service's heap otherwise pauses the event
    # loop for 50-90 ms about twice a minute, the largest part of the partner alert path's tail latency.
    # Here rather than in the app's start-up: test processes build many apps and must collect them.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
    return 0
