"""Request rate of the surveys service: single responses and batches of 500.

Starts the real service (``lsg-surveys serve``, uvicorn, one worker) on its own database against the local
Kafka and PostgreSQL, creates and opens a survey, then posts over HTTP with a number of concurrent clients.
Every response is stored and its event written to the outbox (and published by the relay) as in production.

    uv run python bench/surveys_responses.py                       # defaults below
    uv run python bench/surveys_responses.py --singles 2000 --concurrency 16 --batches 20

Or against a running service: ``--base-url http://host:8001 --admin-token ... --editor-token ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "services" / "surveys" / "tests"))

from surveys_support import response_body, survey_body  # noqa: E402

from lsg_shared.db import with_database  # noqa: E402
from lsg_testkit.tokens import api_tokens, bearer, grant  # noqa: E402


def cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU time the service process has used (Linux /proc): a figure the shared machine's load
    does not distort as much as the wall-clock rate."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_cpu(result: dict[str, Any], before: float | None, after: float | None, units: int) -> dict[str, Any]:
    if before is not None and after is not None:
        used = after - before
        result["service_cpu_s"] = round(used, 2)
        result["service_cpu_ms_per_unit"] = round(1000 * used / units, 2)
    result["load_average"] = os.getloadavg()
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_up(client: httpx.AsyncClient, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("the service did not become ready")


async def run_singles(
    client: httpx.AsyncClient, cid: str, editor: str, n: int, concurrency: int, prefix: str = "s"
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            body = response_body(i, submission_id=f"{cid}-{prefix}-{i}")
            start = time.perf_counter()
            r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=bearer(editor))
            latencies.append(time.perf_counter() - start)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": n,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(n / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "statuses": statuses,
    }


async def run_batches(
    client: httpx.AsyncClient, cid: str, editor: str, batches: int, size: int, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in range(batches):
        queue.put_nowait(b)

    async def worker() -> None:
        while not queue.empty():
            b = queue.get_nowait()
            rows = [response_body(b * size + i, submission_id=f"{cid}-b-{b}-{i}") for i in range(size)]
            start = time.perf_counter()
            r = await client.post(
                f"/v1/campaigns/{cid}/responses/batch",
                json={"responses": rows},
                headers=bearer(editor),
                timeout=120,
            )
            latencies.append(time.perf_counter() - start)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "batches": batches,
        "batch_size": size,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "batches_per_s": round(batches / elapsed, 2),
        "rows_per_s": round(batches * size / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "statuses": statuses,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url")
    parser.add_argument("--admin-token")
    parser.add_argument("--editor-token")
    parser.add_argument("--port", type=int, default=18801)
    parser.add_argument("--postgres", default="postgresql://postgres:postgres@127.0.0.1:25432/postgres")
    parser.add_argument("--kafka", default="127.0.0.1:29092")
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-concurrency", type=int, default=2)
    args = parser.parse_args()

    server: subprocess.Popen[bytes] | None = None
    database = f"lsg_surveys_bench_{uuid.uuid4().hex[:8]}"
    admin, editor = args.admin_token or uuid.uuid4().hex, args.editor_token or uuid.uuid4().hex
    base_url = args.base_url
    if base_url is None:
        env = {
            **os.environ,
            "LSG_DATABASE_URL": with_database(args.postgres, database),
            "LSG_KAFKA_BOOTSTRAP": args.kafka,
            "LSG_API_TOKENS": api_tokens(
                grant(admin, "bench-admin", ["admin"]), grant(editor, "bench-editor", ["editor"])
            ),
            "LSG_LOG_LEVEL": "WARNING",
            "LSG_DB_POOL_MAX": "10",
        }
        server = subprocess.Popen(  # noqa: ASYNC220 (our own service, started before any measurement)
            [sys.executable, "-m", "lsg_surveys", "serve", "--port", str(args.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{args.port}"
    try:
        limits = httpx.Limits(max_connections=max(args.concurrency, args.batch_concurrency) + 2)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
            await wait_up(client)
            cid = f"bench-{uuid.uuid4().hex[:8]}"
            admin_h = bearer(admin)
            (await client.post("/v1/campaigns", json=survey_body(cid), headers=admin_h)).raise_for_status()
            (await client.post(f"/v1/campaigns/{cid}/open", headers=admin_h)).raise_for_status()
            await run_singles(client, cid, editor, min(50, args.singles), 4, prefix="w")  # warm-up
            pid = server.pid if server is not None else None
            before = cpu_seconds(pid)
            singles = await run_singles(client, cid, editor, args.singles, args.concurrency)
            singles = with_cpu(singles, before, cpu_seconds(pid), args.singles)
            print(json.dumps({"single_responses": singles}))
            before = cpu_seconds(pid)
            batches = await run_batches(client, cid, editor, args.batches, args.batch_size, args.batch_concurrency)
            batches = with_cpu(batches, before, cpu_seconds(pid), args.batches * args.batch_size)
            print(json.dumps({"batches": batches}))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            conn = await asyncpg.connect(args.postgres)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            finally:
                await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
