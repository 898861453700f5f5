"""Test support on real infrastructure: addresses, isolated databases, event collection, running apps.

Infrastructure comes from ``LSG_TEST_INFRA``:

* ``external``: a user's own cluster: ``LSG_KAFKA_BOOTSTRAP`` and ``LSG_TEST_DATABASE_URL`` (a DSN whose role
  may create databases).
* ``local`` (the default when no container engine answers): the project's own Kafka and PostgreSQL processes
  (``lsg_local.stack``), started if needed and left running for the next run.
* ``testcontainers`` (the default when a Docker-compatible engine answers): Kafka (KRaft) and PostgreSQL
  containers started through testcontainers (Docker, or Podman's Docker-compatible API via ``DOCKER_HOST``).

Tests isolate themselves: each gets its own database, topics carry their own consumer groups, and
collectors read from the beginning in a fresh group, so tests run in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from lsg_events import EVENT_TYPES, CloudEvent
from lsg_events.envelope import PoisonMessage, from_kafka
from lsg_shared.db import with_database
from lsg_shared.settings import KafkaSettings


@dataclass(frozen=True)
class Infra:
    mode: str
    kafka_bootstrap: str
    admin_dsn: str

    def kafka_settings(self) -> KafkaSettings:
        return KafkaSettings(bootstrap=self.kafka_bootstrap)


def _testcontainers_infra(stack: contextlib.ExitStack) -> Infra:
    """Kafka (KRaft, one node) and PostgreSQL containers started through testcontainers.

    Images default to the public ones a Docker user can pull; ``LSG_TEST_KAFKA_IMAGE`` /
    ``LSG_TEST_POSTGRES_IMAGE`` point at the project's own (``make images``: ``localhost/lsg-kafka:latest``,
    ``localhost/lsg-postgres:latest``, see deploy/containers). Kafka runs as a generic container configured
    through the apache/kafka image's ``KAFKA_*`` variables, which the project's image takes too: testcontainers'
    ``KafkaContainer`` drives Confluent's image layout (``/etc/confluent/docker``) and its ``with_kraft()``
    rejects any tag below 7.0.0, apache/kafka's included. The broker is advertised on a free host port bound
    to the same container port, and is ready when a Metadata request lists it."""
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.container import DockerContainer

    from lsg_local.kafka import probe_kafka

    kafka_image = os.environ.get("LSG_TEST_KAFKA_IMAGE", "apache/kafka:4.1.1")
    pg_image = os.environ.get("LSG_TEST_POSTGRES_IMAGE", "postgres:18")
    pg = stack.enter_context(PostgresContainer(pg_image, username="postgres", password="postgres", dbname="postgres"))  # noqa: S106 (throwaway test container)
    host = pg.get_container_host_ip()
    kafka_port = _free_port()
    kafka = DockerContainer(kafka_image).with_bind_ports(9092, kafka_port)
    for name, value in {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host}:{kafka_port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_NUM_PARTITIONS": "3",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }.items():
        kafka.with_env(name, value)
    stack.enter_context(kafka)
    deadline = time.monotonic() + float(os.environ.get("LSG_TEST_KAFKA_START_TIMEOUT", "180"))
    while True:
        try:
            if probe_kafka(host, kafka_port):
                break
        except Exception:  # noqa: S110 (not up yet: refused, reset, or half an answer)
            pass
        if time.monotonic() > deadline:
            logs = kafka.get_logs()[0].decode("utf-8", "replace")[-3000:]
            raise RuntimeError(f"Kafka container ({kafka_image}) not ready on {host}:{kafka_port}:\n{logs}")
        time.sleep(0.5)
    pg_port = pg.get_exposed_port(5432)
    return Infra("testcontainers", f"{host}:{kafka_port}", f"postgresql://postgres:postgres@{host}:{pg_port}/postgres")


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def container_engine_answers() -> bool:
    """True when a Docker-compatible API (Docker, or Podman's service) answers on DOCKER_HOST or the default socket."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return bool(os.environ.get("DOCKER_HOST"))
    import socket

    path = host.removeprefix("unix://")
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in sock.recv(256)
    except OSError:
        return False


@contextlib.contextmanager
def infrastructure() -> Iterator[Infra]:
    mode = os.environ.get("LSG_TEST_INFRA", "").strip() or ("testcontainers" if container_engine_answers() else "local")
    if mode == "external":
        bootstrap = os.environ.get("LSG_KAFKA_BOOTSTRAP")
        dsn = os.environ.get("LSG_TEST_DATABASE_URL")
        if not bootstrap or not dsn:
            raise RuntimeError("LSG_TEST_INFRA=external needs LSG_KAFKA_BOOTSTRAP and LSG_TEST_DATABASE_URL")
        yield Infra("external", bootstrap, dsn)
    elif mode == "local":
        from lsg_local.stack import LocalStack

        bootstrap, admin_dsn = LocalStack().ensure_test_started()
        yield Infra("local", bootstrap, admin_dsn)
    elif mode == "testcontainers":
        with contextlib.ExitStack() as stack:
            yield _testcontainers_infra(stack)
    else:
        raise RuntimeError(f"LSG_TEST_INFRA={mode!r}: expected external, local or testcontainers")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def create_database(admin_dsn: str, name: str | None = None) -> str:
    """A fresh, empty database; returns its DSN."""
    name = name or unique("lsgtest")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, dsn: str) -> None:
    name = dsn.rsplit("/", 1)[-1].split("?")[0]
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    event: CloudEvent | None
    error: str | None = None


@dataclass
class EventCollector:
    """Reads topics from the beginning in its own consumer group and keeps every record it sees."""

    bootstrap: str
    topics: tuple[str, ...]
    records: list[Received] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> EventCollector:
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=unique("collector"),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
            try:
                event: CloudEvent | None = from_kafka(record.value, record.headers, EVENT_TYPES)
                error = None
            except PoisonMessage as exc:
                event, error = None, str(exc)
            self.records.append(
                Received(record.topic, record.partition, record.offset, record.key, record.value, headers, event, error)
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def events(self, event_type: str | None = None) -> list[CloudEvent]:
        return [
            r.event for r in self.records if r.event is not None and (event_type is None or r.event.type == event_type)
        ]

    async def wait_for(
        self, predicate: Callable[[EventCollector], bool], timeout: float = 30, message: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {message}; saw {len(self.records)} records")

    async def wait_count(self, event_type: str, count: int, timeout: float = 30) -> list[CloudEvent]:
        await self.wait_for(lambda c: len(c.events(event_type)) >= count, timeout, f"{count} x {event_type}")
        return self.events(event_type)


@contextlib.asynccontextmanager
async def collect(bootstrap: str, *topics: str) -> AsyncIterator[EventCollector]:
    collector = await EventCollector(bootstrap, tuple(topics)).start()
    try:
        yield collector
    finally:
        await collector.stop()


async def committed_offsets(
    bootstrap: str, group_id: str, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int | None]:
    """What a consumer group has committed (None where nothing is): tests assert on this, not on policy names."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        out: dict[tuple[str, int], int | None] = {}
        for topic, partition in partitions:
            out[(topic, partition)] = await consumer.committed(TopicPartition(topic, partition))
        return out
    finally:
        await consumer.stop()


async def dump_database(dsn: str) -> str:
    """Every row of every table of a database's public schema, as text: what a privacy test searches for a person
    it has erased (``table: (row as PostgreSQL prints it)``, one line a row)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        parts = []
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t')
            parts.extend(f"{table}: {r['row']}" for r in rows)
        return "\n".join(parts)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def running_app(app: Any) -> AsyncIterator[Any]:
    """Run a service's ASGI app in-process (lifespan included) and yield an httpx client bound to it."""
    import httpx
    from asgi_lifespan import LifespanManager

    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def wait_ready(client: Any, timeout: float = 60) -> None:
    """Wait until /health/ready answers 200 (Kafka connected, migrations applied)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await client.get("/health/ready")
        if last.status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"service not ready after {timeout}s: {last.text if last is not None else None}")


def free_ports(count: int = 2) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (for a private broker: listener and controller)."""
    import socket

    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


# --- private infrastructure and services as subprocesses (the fault-injection suite, the demo test) -------


@dataclass
class PrivateInfra:
    """A private Kafka broker and PostgreSQL server on free ports, in a fresh folder, for tests that stop,
    restart or count everything on them (the shared ones serve other engineers' tests).

    ``kafka`` is a ``lsg_local.kafka.KafkaProcess`` and ``postgres`` a ``lsg_local.postgres.PostgresProcess``:
    stop and start them to simulate an outage (same ports, same data)."""

    kafka: Any
    postgres: Any

    @property
    def kafka_bootstrap(self) -> str:
        return str(self.kafka.bootstrap)

    @property
    def admin_dsn(self) -> str:
        return str(self.postgres.dsn("postgres"))


@contextlib.contextmanager
def private_infrastructure(
    base: Any, *, kafka_heap: str = "512m", timeout: float = 180, keep: bool = False
) -> Iterator[PrivateInfra]:
    """Start a private Kafka and PostgreSQL under ``base`` (a folder, emptied first); stop both on exit and
    remove the folder (unless ``keep``)."""
    import shutil
    from pathlib import Path

    from lsg_local.kafka import KafkaProcess
    from lsg_local.postgres import PostgresProcess

    base = Path(base)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    kafka_port, controller_port, pg_port = free_ports(3)
    kafka = KafkaProcess(kafka_port, controller_port, base / "kafka" / "data", base / "kafka" / "logs", heap=kafka_heap)
    postgres = PostgresProcess(pg_port, base / "pg")
    try:
        postgres.start(timeout=timeout)
        kafka.start(timeout=timeout)
        yield PrivateInfra(kafka, postgres)
    finally:
        with contextlib.suppress(Exception):
            kafka.stop(30)
        with contextlib.suppress(Exception):
            postgres.stop(30)
        if not keep and kafka.pid() is None and postgres.pid() is None:
            shutil.rmtree(base, ignore_errors=True)


def service_base_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any ``LSG_*``/``OTEL_*`` variable, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_", "OTEL_"))}
    env.update({"OTEL_SDK_DISABLED": "true", "LSG_HTTP_HOST": "127.0.0.1"})
    env.update(overrides)
    return env


@dataclass
class ServiceProcess:
    """One service run as ``lsg-<name> serve`` in its own session, its output appended to ``log_path``.

    ``kill()`` sends SIGKILL (a crash), ``stop()`` SIGTERM and waits (a rolling restart's pod stop), ``start()``
    starts it again with the same environment; ``starts`` counts them."""

    name: str
    env: dict[str, str]
    log_path: Any
    port: int
    argv: tuple[str, ...] = ()
    proc: Any = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        import subprocess
        import sys
        from pathlib import Path

        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        argv = list(self.argv) or [str(Path(sys.executable).parent / f"lsg-{self.name}"), "serve"]
        env = dict(self.env, LSG_HTTP_PORT=str(self.port))
        with open(self.log_path, "ab") as log:
            log.write(f"\n----- start {self.starts + 1} of {self.name} -----\n".encode())
            log.flush()
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        return self

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else int(self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, timeout: float = 15) -> int | None:
        """SIGKILL; returns the exit code."""
        import signal

        if not self.alive():
            return None if self.proc is None else int(self.proc.returncode)
        self.proc.send_signal(signal.SIGKILL)
        return int(self.proc.wait(timeout=timeout))

    def stop(self, timeout: float = 30) -> tuple[int | None, float]:
        """SIGTERM, wait up to ``timeout`` s (then SIGKILL); returns (exit code, seconds it took).
        The exit code is -9 when it had to be killed."""
        import signal
        import subprocess

        if not self.alive():
            return (None if self.proc is None else int(self.proc.returncode)), 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = int(self.proc.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = int(self.proc.wait(timeout=15))
        return code, time.monotonic() - started

    def log_tail(self, chars: int = 4000) -> str:
        from pathlib import Path

        path = Path(self.log_path)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def get(self, path: str, timeout: float = 5, **kwargs: Any) -> Any:
        import httpx

        async with httpx.AsyncClient(base_url=self.url, timeout=timeout) as client:
            return await client.get(path, **kwargs)

    async def is_ready(self) -> bool:
        try:
            return bool((await self.get("/health/ready", timeout=3)).status_code == 200)
        except Exception:
            return False

    async def wait_ready(self, timeout: float = 120) -> float:
        """Wait until ``/health/ready`` answers 200; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            assert self.alive(), f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}"
            if await self.is_ready():
                return time.monotonic() - started
            await asyncio.sleep(0.3)
        raise AssertionError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """``/metrics`` parsed: sample name -> [(labels, value)]."""
        from prometheus_client.parser import text_string_to_metric_families

        text = (await self.get("/metrics")).text
        out: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out.setdefault(sample.name, []).append((sample.labels, sample.value))
        return out


def metric_value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels match ``labels`` (0 when there are none)."""
    return sum(v for lab, v in samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))


async def end_offsets(bootstrap: str, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The log-end offset of each partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t, p in partitions]
        ends = await consumer.end_offsets(tps)
        return {(tp.topic, tp.partition): int(off) for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def reset_group_offsets(
    bootstrap: str, group_id: str, partitions: Iterable[tuple[str, int]], timeout: float = 90
) -> float:
    """Commit offset 0 on every partition for ``group_id`` (``kafka-consumer-groups --reset-offsets
    --to-earliest``). The group must have no active member: a stopped static member (``group.instance.id``)
    stays in the group until its session times out, so the commit is retried until then. Returns the seconds
    it took."""
    from aiokafka.errors import KafkaError
    from aiokafka.structs import OffsetAndMetadata

    started = time.monotonic()
    tps = [TopicPartition(t, p) for t, p in partitions]
    while True:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.commit({tp: OffsetAndMetadata(0, "") for tp in tps})
            return time.monotonic() - started
        except KafkaError:
            if time.monotonic() - started > timeout:
                raise
        finally:
            await consumer.stop()
        await asyncio.sleep(1)


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str]  # names in lower case
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


@dataclass
class RawHttp:
    """One HTTP/1.1 keep-alive connection with next to no client overhead, for load tests that must offer
    hundreds of requests a second from a shared 2-core machine (httpx costs more CPU per request than the
    services do). ``post`` answers like httpx (``status_code``, ``headers``, ``json()``); a failed exchange
    raises ``OSError`` or ``asyncio.IncompleteReadError`` and the next call opens a new connection."""

    host: str
    port: int
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> RawResponse:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\n{lines}content-length: {len(content)}\r\n\r\n"
        try:
            self._writer.write(head.encode() + content)
            await self._writer.drain()
            status_line, *header_lines = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            got = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in header_lines if ln)}
            body = await self._reader.readexactly(int(got.get("content-length", "0")))
        except BaseException:
            await self.close()
            raise
        if got.get("connection", "").lower() == "close":
            await self.close()
        return RawResponse(int(status_line.split()[1]), got, body)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
