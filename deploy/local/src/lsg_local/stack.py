"""The local stack: one Kafka broker and one PostgreSQL server with the services' databases."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lsg_local._paths import repo_root
from lsg_local.kafka import KafkaProcess
from lsg_local.postgres import PostgresProcess

__all__ = ["DATABASES", "LocalStack", "StackInfo"]

#: service name -> database
DATABASES: dict[str, str] = {
    "surveys": "lsg_surveys",
    "training": "lsg_training",
    "alerts": "lsg_alerts",
    "reporting": "lsg_reporting",
}


@dataclass(frozen=True)
class StackInfo:
    kafka_bootstrap: str
    postgres_dsn: str  # the "postgres" database
    database_urls: dict[str, str] = field(default_factory=dict)  # service name -> DSN of its database

    def env(self) -> dict[str, str]:
        """The environment variables the services and tests read."""
        out = {"LSG_KAFKA_BOOTSTRAP": self.kafka_bootstrap, "LSG_DATABASE_URL": self.postgres_dsn}
        for service, url in self.database_urls.items():
            out[f"LSG_{service.upper()}_DATABASE_URL"] = url
        return out


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


class LocalStack:
    """Defaults: ``$LSG_LOCAL_DIR`` (else ``<repo>/.data``), ``$LSG_LOCAL_KAFKA_PORT`` (29092; the
    controller listens on the next port), ``$LSG_LOCAL_PG_PORT`` (25432).

    Layout under the base dir: ``kafka/`` (broker data, config, pid), ``postgres/`` (PGDATA),
    ``logs/kafka/`` (broker logs; PostgreSQL logs to ``postgres/postgres.log``).
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        kafka_port: int | None = None,
        pg_port: int | None = None,
        *,
        kafka_heap: str = "512m",
    ) -> None:
        env_dir = os.environ.get("LSG_LOCAL_DIR", "").strip()
        self.base_dir = Path(base_dir or env_dir or repo_root() / ".data").expanduser().resolve()
        kport = kafka_port if kafka_port is not None else _env_int("LSG_LOCAL_KAFKA_PORT", 29092)
        pport = pg_port if pg_port is not None else _env_int("LSG_LOCAL_PG_PORT", 25432)
        self.kafka = KafkaProcess(
            kport, kport + 1, self.base_dir / "kafka", self.base_dir / "logs" / "kafka", heap=kafka_heap
        )
        self.postgres = PostgresProcess(pport, self.base_dir / "postgres")

    def info(self) -> StackInfo:
        """The addresses (whether or not the servers are running)."""
        return StackInfo(
            kafka_bootstrap=self.kafka.bootstrap,
            postgres_dsn=self.postgres.dsn(),
            database_urls={svc: self.postgres.dsn(db) for svc, db in DATABASES.items()},
        )

    def ensure_started(self, timeout: float = 120) -> StackInfo:
        """Start whatever is not running (Kafka and PostgreSQL in parallel), create the databases."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="lsg-infra") as pool:
            kafka = pool.submit(self.kafka.start, timeout)
            pg = pool.submit(self.postgres.start, timeout)
            pg.result()
            self.postgres.create_databases(DATABASES.values())
            kafka.result()
        return self.info()

    def test_kafka(self) -> KafkaProcess:
        """The tests' own broker (``$LSG_TEST_KAFKA_PORT``, 29992), beside `make run`'s: the services consume
        the registry's fixed topic names, so tests on `make run`'s broker would feed it their events."""
        port = _env_int("LSG_TEST_KAFKA_PORT", 29992)
        folder = f"test-kafka-{port}"
        return KafkaProcess(port, port + 1, self.base_dir / folder, self.base_dir / "logs" / folder)

    def ensure_test_started(self, timeout: float = 120) -> tuple[str, str]:
        """PostgreSQL (shared: tests use fresh databases) and the tests' own broker; (bootstrap, admin DSN)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        kafka = self.test_kafka()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="lsg-infra") as pool:
            started = pool.submit(kafka.start, timeout)
            self.postgres.start(timeout)
            self.postgres.create_databases(DATABASES.values())
            started.result()
        return kafka.bootstrap, self.postgres.dsn()

    def stop(self, timeout: float = 30) -> None:
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="lsg-infra") as pool:
            futures = [
                pool.submit(self.kafka.stop, timeout),
                pool.submit(self.test_kafka().stop, timeout),
                pool.submit(self.postgres.stop, timeout),
            ]
            for f in futures:
                f.result()

    def status(self) -> dict[str, bool]:
        return {"kafka": self.kafka.is_running(), "postgres": self.postgres.is_running()}
