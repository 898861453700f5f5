"""``lsg-reporting serve|migrate|consume|rebuild``.

``serve`` and ``migrate`` are the suite's shared commands; ``consume`` runs the aggregating consumer (and
the indicator publisher) without the HTTP API; ``rebuild`` rebuilds every figure from the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings
from lsg_shared.cli import run
from lsg_shared.telemetry import setup_logging


async def _consume(settings: ReportingSettings) -> int:
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.router.lifespan_context(app):
        await stop.wait()
    return 0


async def _rebuild(settings: ReportingSettings) -> int:
    from lsg_reporting.adapters import postgres as pg
    from lsg_reporting.application.rebuild import rebuild
    from lsg_reporting.domain import catalogue as catalogue_mod
    from lsg_reporting.domain.rules import Extractor
    from lsg_shared import db, migrate

    catalogue = catalogue_mod.load(settings.catalogue_path)
    await db.ensure_database(settings.database_url)
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate.apply(conn, migrate.for_service("lsg_reporting"))
            await pg.upsert_catalogue(conn, catalogue)
        result = await rebuild(pool, settings.kafka, Extractor(catalogue), batch=settings.rebuild_batch)
    finally:
        await pool.close()
    print(
        f"rebuild {result.id}: {result.events} events, {result.facts} facts, {result.skipped} skipped, "
        f"{result.copied_live} facts kept from the live consumer; swapped in"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("consume", "rebuild"):
        settings = ReportingSettings()
        setup_logging("reporting", fmt=settings.log_format, level=settings.log_level)
        with contextlib.suppress(KeyboardInterrupt):
            sys.exit(asyncio.run(_consume(settings) if args[0] == "consume" else _rebuild(settings)))
        return
    sys.exit(run("reporting", "lsg_reporting", ReportingSettings, create_app, args))


if __name__ == "__main__":
    main()
