"""Benchmark: the figures' computation alone (`postgres.cells`), summed indicators and device availability
apart, on a reporting database that already holds facts (e.g. one `lsg-reporting rebuild` filled).

    python -m bench.reporting_figures --database-url postgresql://.../db --as-of 2026-12-08 --rounds 3

Each round computes every figure as the publisher does (all period kinds, the area breakdowns) as of a fixed
moment, so runs of two versions of the code (`PYTHONPATH=<export>/services/reporting/src`) can be compared
cell for cell with `--dump FILE` (a pickle of the sorted cells). Prints seconds per part and the hypervisor
steal of the round: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import pickle
import time
from datetime import UTC, datetime

import asyncpg

from bench.lib import steal_ms
from lsg_reporting.adapters import postgres as pg
from lsg_reporting.domain import catalogue as catalogue_mod
from lsg_reporting.domain.figures import AREA_DIMENSIONS
from lsg_reporting.domain.periods import PERIOD_KINDS, until_of


async def main(args: argparse.Namespace) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(args.database_url)
    try:
        catalogue = catalogue_mod.load(None)
        until = until_of(datetime.fromisoformat(args.as_of).replace(tzinfo=UTC))
        parts = {
            "summed": [i for i in catalogue.indicators if i.aggregation != "availability"],
            "availability": [i for i in catalogue.indicators if i.aggregation == "availability"],
        }
        for round_ in range(1, args.rounds + 1):
            steal0, wall0 = steal_ms(), time.perf_counter()
            timings, cells = [], []
            for name, indicators in parts.items():
                started = time.perf_counter()
                found = await pg.cells(conn, indicators, until=until, period_kinds=PERIOD_KINDS, dims=AREA_DIMENSIONS)
                timings.append(f"{name} {time.perf_counter() - started:.2f} s ({len(found)} cells)")
                cells.extend(found)
            steal = (steal_ms() - steal0) / (time.perf_counter() - wall0)
            print(f"round {round_}: {'; '.join(timings)}; steal {steal:.1f} ms/s", flush=True)
        return sorted(dataclasses.astuple(c) for c in cells)
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a reporting database with facts")
    parser.add_argument("--as-of", default="2026-12-08", help="the figures as they stood on this day (UTC)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dump", help="write the sorted cells of the last round here (pickle)")
    arguments = parser.parse_args()
    last = asyncio.run(main(arguments))
    if arguments.dump:
        with open(arguments.dump, "wb") as f:
            pickle.dump(last, f)
