"""Benchmark (issue 26): from ``alert.raised`` to the first e-mail accepted by the SMTP server, at 200 alerts/s.

Starts a real SMTP server (Mailpit, ``make mailpit``) and the alerts service as a real process (its own fresh
database on the local PostgreSQL), registers a partner, an installed device and an elder on call
for its settlement (e-mail), then sends signed CAP Extreme alerts at a fixed rate (open loop: each request at
t0 + i/rate, on bare keep-alive connections; a private Kafka broker of the run's own unless --bootstrap).
Latency per alert = its first successful delivery attempt (recorded when the relay answered 250 after the
message's data: the SMTP server has accepted it) - the alert's ``received_at`` (the moment the service accepted
it, the time ``alert.raised`` carries). Each alert's headline is unique, so Mailpit's own receipt times of the
messages it still holds (its default keeps the newest 500) are matched by subject and compared with the attempts'
as a check. Both clocks are this machine's.

    .venv/bin/python -m bench.alerts_notify --rate 200 --duration 30 [--concurrency 8]

Prints a JSON summary (p50/p95/p99/max in ms, messages missing). Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet

from lsg_events import topics
from lsg_events.partner import signed_headers
from lsg_local.mailpit import Mailpit
from lsg_shared.kafka import ensure_topics
from lsg_shared.settings import KafkaSettings
from lsg_testkit.alerts import cap_json, settlement_place
from lsg_testkit.kafka import skip_to_end
from lsg_testkit.tokens import api_tokens, bearer, grant

ADMIN = "bench-admin-" + uuid.uuid4().hex
ADDRESS = "elder-bench@example.lv"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {f"p{p}_ms": round(percentile(values, p), 1) for p in (50, 95, 99)} | {"max_ms": round(max(values), 1)}


async def wait_ready(base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise RuntimeError("the alerts service did not become ready")


def mailbox(mailpit: Mailpit) -> dict[str, float]:
    """Subject -> Mailpit's receipt time (Unix seconds) of every message to the elder (the first per subject)."""
    found: dict[str, float] = {}
    start = 0
    while True:
        page = mailpit._get(f"/messages?limit=1000&start={start}")  # Mailpit's API pages; the client has no paging
        for m in page["messages"]:
            if any(t["Address"] == ADDRESS for t in m["To"]):
                at = datetime.fromisoformat(m["Created"].replace("Z", "+00:00")).timestamp()
                found[m["Subject"]] = min(at, found.get(m["Subject"], at))
        start += len(page["messages"])
        if not page["messages"] or start >= page["total"]:
            return found


@contextlib.contextmanager
def private_kafka(base: Path) -> Any:
    """A single-node broker of this run's own on free ports: the alert events it writes must reach no other
    engineer's consumers (the shared and test brokers) nor the bench broker's refilled topics."""
    from lsg_local.kafka import KafkaProcess
    from lsg_local.testing import free_ports

    port, controller = free_ports(2)
    kafka = KafkaProcess(port, controller, base / "data", base / "logs", heap="512m")
    kafka.start(timeout=180)
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.bootstrap:
        return await run_on(args)
    with (
        tempfile.TemporaryDirectory(prefix="lsg-bench-notify-kafka-") as base,
        private_kafka(Path(base)) as bootstrap,
    ):
        args.bootstrap = bootstrap
        return await run_on(args)


async def run_on(args: argparse.Namespace) -> dict[str, Any]:
    db_name = f"lsg_alerts_notify_bench_{uuid.uuid4().hex[:8]}"
    group = f"alerts-notify-bench-{uuid.uuid4().hex[:8]}"
    await ensure_topics(KafkaSettings(bootstrap=args.bootstrap), topics.TOPICS)
    await skip_to_end(args.bootstrap, group, topics.PARTNER_INPUT)
    mail_dir = tempfile.mkdtemp(prefix="lsg-bench-mailpit-")
    mailpit = Mailpit(Path(mail_dir)).start()
    dsn = f"{args.postgres.rstrip('/')}/{db_name}"
    env = {
        **os.environ,
        "LSG_DATABASE_URL": dsn,
        "LSG_KAFKA_BOOTSTRAP": args.bootstrap,
        "LSG_API_TOKENS": api_tokens(grant(ADMIN, "bench", ["admin"])),
        "LSG_ALERTS_SECRETS_KEY": Fernet.generate_key().decode(),
        "LSG_PARTNER_RATE_PER_S": str(args.rate * 2),
        "LSG_PARTNER_RATE_BURST": str(args.rate * 4),
        "LSG_PARTNER_GROUP_ID": group,
        "LSG_LOG_LEVEL": "WARNING",
        "LSG_DB_POOL_MAX": "24",
        "LSG_SMTP_HOST": "127.0.0.1",
        "LSG_SMTP_PORT": str(mailpit.smtp_port),
        "LSG_NOTIFY_INTERVAL_S": str(args.interval),
        "LSG_NOTIFY_CONCURRENCY": str(args.concurrency),
        "LSG_NOTIFY_BATCH": str(args.batch),
        "LSG_ACK_DEADLINES_S": json.dumps({"Extreme": 86400}),  # no escalation during the run: one page each
    }
    servers: list[subprocess.Popen[bytes]] = []
    try:
        # Replicas share the database, as the chart's pods do; one after the other (the first migrates).
        for n in range(args.replicas):
            servers.append(
                subprocess.Popen(  # noqa: ASYNC220 (a fixed command line)
                    [sys.executable, "-m", "lsg_alerts", "serve", "--port", str(args.port + n)],
                    env=env,
                    stdout=subprocess.DEVNULL if not args.verbose else None,
                    stderr=subprocess.STDOUT if not args.verbose else None,
                    start_new_session=True,
                )
            )
            await wait_ready(f"http://127.0.0.1:{args.port + n}")
        return await measure(args, mailpit, dsn)
    finally:
        for server in servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        mailpit.stop()
        shutil.rmtree(mail_dir, ignore_errors=True)
        admin = await asyncpg.connect(f"{args.postgres.rstrip('/')}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        finally:
            await admin.close()


async def measure(args: argparse.Namespace, mailpit: Mailpit, dsn: str) -> dict[str, Any]:
    base = f"http://127.0.0.1:{args.port}"
    auth = bearer(ADMIN)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        partner = f"bench-{uuid.uuid4().hex[:8]}"
        r = await client.post("/v1/partners", json={"partner_id": partner}, headers=auth)
        r.raise_for_status()
        secret = r.json()["new_secret"]["secret"]
        device = f"siren-{uuid.uuid4().hex[:8]}"
        body = {"device_id": device, "kind": "siren", "place": settlement_place(), "partner_id": partner}
        (await client.post("/v1/devices", json=body, headers=auth)).raise_for_status()
        (await client.post(f"/v1/devices/{device}/install", json={}, headers=auth)).raise_for_status()
        person = {"name": "Elder Bench", "language": "en", "channels": [{"kind": "email", "address": ADDRESS}]}
        r = await client.post("/v1/contacts", json=person, headers=auth)
        r.raise_for_status()
        rota = {
            "level": "settlement_elder",
            "area_code": "S0001",
            "starts_at": "2026-01-01T00:00:00+00:00",
            "shift_hours": 24,
            "members": [r.json()["contact_id"]],
        }
        (await client.post("/v1/rotas", json=rota, headers=auth)).raise_for_status()

    path = f"/v1/partners/{partner}/alerts"
    total, warmup = int(args.rate * args.duration), int(args.rate * args.warmup)

    def request(i: int) -> tuple[str, bytes]:
        headline = f"bench-{i}-{uuid.uuid4().hex[:6]}"
        body = cap_json(identifier=headline, device_id=device, severity="Extreme", headline=headline)
        h = signed_headers(secret, body)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: {h['content-type']}\r\n"
            f"x-lsg-timestamp: {h['x-lsg-timestamp']}\r\nx-lsg-signature: {h['x-lsg-signature']}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        return headline, head + body

    prepared = {i: request(i) for i in range(-warmup, total)}
    headlines = {i: prepared[i][0] for i in range(total)}
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[int | None] = asyncio.Queue()

    async def worker(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (i := await queue.get()) is not None:
                writer.write(prepared.pop(i)[1])
                await writer.drain()
                status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                length = next(
                    int(v) for k, _, v in (ln.partition(":") for ln in lines) if k.lower() == "content-length"
                )
                await reader.readexactly(length)
                status = status_line.split()[1]
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    # Connections spread over the replicas, the way a Kubernetes Service spreads them.
    workers = [asyncio.create_task(worker(args.port + n % args.replicas)) for n in range(args.connections)]
    began = time.perf_counter()
    for i in range(warmup):  # same rate, not measured: pools, prepared statements, first calls
        delay = began + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(-1 - i)
    await asyncio.sleep(1.0)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    sending_s = time.perf_counter() - start
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    accepted_s = time.perf_counter() - start

    # Wait until every alert's message has been accepted by the relay (or nothing more is sent for a while).
    conn = await asyncpg.connect(dsn)
    try:
        done, last_growth, deadline = 0, time.monotonic(), time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline and time.monotonic() - last_growth < 30:
            now_done = int(await conn.fetchval("SELECT count(*) FROM notifications WHERE state = 'sent'"))
            if now_done > done:
                done, last_growth = now_done, time.monotonic()
            if done >= total + warmup:
                break
            await asyncio.sleep(0.5)
        drained_s = time.perf_counter() - start
        load_after = os.getloadavg()[0]
        # Per alert: its first successful attempt (the relay's 250 after the data) - its received_at.
        rows = await conn.fetch(
            """
            SELECT a.headline, extract(epoch FROM a.received_at) AS raised,
                   extract(epoch FROM min(t.at) FILTER (WHERE t.ok)) AS accepted
            FROM alerts a LEFT JOIN notifications n USING (alert_id)
                 LEFT JOIN notification_attempts t USING (notification_id)
            WHERE a.headline = ANY($1::text[]) GROUP BY a.alert_id
            """,
            list(headlines.values()),
        )
        attempts = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE ok) AS ok, count(*) FILTER (WHERE NOT ok) AS failed "
            "FROM notification_attempts"
        )
    finally:
        await conn.close()
    assert attempts is not None
    latencies = [(float(r["accepted"]) - float(r["raised"])) * 1000 for r in rows if r["accepted"] is not None]
    accepted_at = {f"Alert (extreme): {r['headline']} — Village": float(r["accepted"]) for r in rows if r["accepted"]}
    # Cross-check with the SMTP server's own receipt times (Mailpit keeps the newest 500 messages by default).
    held = await asyncio.to_thread(mailbox, mailpit)
    skew = [(held[k] - accepted_at[k]) * 1000 for k in held if k in accepted_at]
    return {
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "alerts": total,
        "achieved_rate_per_s": round(total / sending_s, 1),
        "statuses": statuses,
        "stored": len(rows),
        "messages": len(latencies),
        "mailpit_receipt_minus_attempt_ms_p50": round(percentile(skew, 50), 1) if skew else None,
        "mailpit_messages_checked": len(skew),
        "missing": total - len(latencies),
        "attempts_ok": attempts["ok"],
        "attempts_failed": attempts["failed"],
        "raised_to_smtp_accepted": summary(latencies),
        "all_accepted_after_s": round(accepted_s, 1),
        "all_messages_after_s": round(drained_s, 1),
        "messages_per_s": round(len(latencies) / drained_s, 1),
        "notify_concurrency": args.concurrency,
        "notify_batch": args.batch,
        "replicas": args.replicas,
        "load_avg_1m": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="LSG_NOTIFY_CONCURRENCY of the service")
    parser.add_argument("--batch", type=int, default=8, help="LSG_NOTIFY_BATCH of the service")
    parser.add_argument("--interval", type=float, default=0.05, help="LSG_NOTIFY_INTERVAL_S of the service")
    parser.add_argument("--replicas", type=int, default=1, help="service processes on one database")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=28093)
    parser.add_argument("--bootstrap", default=None, help="a Kafka to use (default: a private broker of the run)")
    parser.add_argument("--postgres", default="postgresql://postgres:postgres@127.0.0.1:25432")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
