"""Property-based fuzz of every service's OpenAPI (issue 23): Schemathesis draws requests from each service's
own ``/openapi.json`` (valid and invalid ones), sends them with an admin token to the app running in-process
on real PostgreSQL and Kafka, and checks every answer:

* ``not_a_server_error``: bad input gets a 4xx problem, never a 5xx;
* ``response_schema_conformance``: a documented answer has the documented shape;
* ``status_code_conformance``: the status is one the OpenAPI declares for the operation;
* ``content_type_conformance``: the content type is one the OpenAPI declares for that status.

Every operation is a test of its own (``test_<service>[METHOD /path]``); the seed is fixed, so a
run is reproducible. ``LSG_FUZZ_EXAMPLES`` bounds the fuzzing phase's examples per operation (default 25, a
couple of minutes for the four services); ``make fuzz`` runs the same suite with many more
(``LSG_FUZZ_SEED`` picks another seed). No operation is skipped: the dashboard and the spreadsheet/PDF/XML
reports answer in-process like any other route.

Infrastructure: the shared PostgreSQL of ``make infra`` (one fresh database per service, dropped afterwards)
and a PRIVATE Kafka broker for the session. The services publish their outboxes to the registry's fixed
topic names, so fuzzed writes on the shared broker would reach the ``lsg.*`` topics `make run` consumes
(the root conftest fails any test that publishes there).

Each service is built by its own ``create_app(settings)`` and runs in-process: its lifespan (asgi-lifespan's
``LifespanManager``) once per service, on the event loop Schemathesis serves ASGI requests on (see
``WithoutLifespan``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from cryptography.fernet import Fernet
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi as st_asgi

from lsg_local import testing
from lsg_local.kafka import KafkaProcess
from lsg_shared.settings import KafkaSettings
from lsg_testkit.tokens import api_tokens, bearer, grant

EXAMPLES = int(os.environ.get("LSG_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("LSG_FUZZ_SEED", "20250423"))
SERVICES = ("surveys", "training", "alerts", "reporting")
ALL_CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
)
# LSG_FUZZ_CHECKS: a comma-separated subset, to look for one kind of failure at a time (default: all four)
CHECKS = tuple(c.strip() for c in os.environ.get("LSG_FUZZ_CHECKS", ",".join(ALL_CHECKS)).split(",") if c.strip())

ADMIN = "api-fuzz-admin-token"
TOKENS = api_tokens(grant(ADMIN, "api-fuzz", ["admin"]))
PSEUDONYM_KEY = "api-fuzz-pseudonym-key-0123456789abcdef0123"

# Request bodies in media types Schemathesis has no serializer for: sent as the bytes it draws for the body's
# `format: binary` string (an upload of a spreadsheet the service then refuses or reads).
schemathesis.serializer.alias(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream"
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.kafka,
    pytest.mark.slow,
    # per test, i.e. per operation (the first one of a service also starts it); make fuzz raises the bound
    pytest.mark.timeout(max(300, 30 * EXAMPLES)),
    # raised inside Schemathesis's own strategies (hypothesis.control), nothing this suite can change
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]


def build_app(service: str, database_url: str, bootstrap: str) -> Any:
    """The service's app from its own ``create_app(settings)``, with the admin token granted."""
    kafka = KafkaSettings(bootstrap=bootstrap)
    common: dict[str, Any] = {"database_url": database_url, "kafka": kafka, "api_tokens": TOKENS}
    if service == "surveys":
        from lsg_surveys.entrypoints.app import create_app as surveys_app
        from lsg_surveys.settings import SurveysSettings

        return surveys_app(SurveysSettings(**common, pseudonym_key=PSEUDONYM_KEY, outbox_poll_interval_s=0.2))
    if service == "training":
        from lsg_training.entrypoints.app import create_app as training_app
        from lsg_training.settings import TrainingSettings

        return training_app(
            TrainingSettings(**common, training_pseudonym_key=PSEUDONYM_KEY, outbox_poll_interval_s=0.2)
        )
    if service == "alerts":
        from lsg_alerts.entrypoints.app import create_app as alerts_app
        from lsg_alerts.settings import AlertsSettings

        return alerts_app(
            AlertsSettings(
                **common,
                alerts_secrets_key=Fernet.generate_key().decode(),
                partner_group_id=testing.unique("fuzz-alerts-partner"),
                outbox_poll_interval_s=0.2,
            )
        )
    if service == "reporting":
        from lsg_reporting.entrypoints.app import create_app as reporting_app
        from lsg_reporting.settings import ReportingSettings

        return reporting_app(
            ReportingSettings(**common, consumer_group=testing.unique("fuzz-reporting"), publish_interval_s=0.5)
        )
    raise ValueError(service)


def schemathesis_config(examples: int = EXAMPLES, seed: int = SEED) -> SchemathesisConfig:
    """The run's settings, as a ``schemathesis.toml`` would hold them."""
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            # the machine is busy: a slow example is not a failure (the checks decide)
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "headers": bearer(ADMIN),
            "generation": {
                "mode": "all",  # valid inputs and schema-violating ones
                "max-examples": examples,
                "deterministic": True,
                "database": "none",  # no replay of an earlier run's failures: the same inputs every time
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},  # no OpenAPI links are declared (no state machine to walk)
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


KAFKA_BASE = Path(tempfile.gettempdir()) / "lsg-api-fuzz-kafka"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_orphaned_brokers() -> None:
    """Stop the brokers of earlier runs that died without their teardown (a pytest-timeout exit, a kill):
    each run's folder names its pytest process, and a folder whose process is gone is cleaned up."""
    if not KAFKA_BASE.is_dir():
        return
    for folder in KAFKA_BASE.iterdir():
        owner = folder.name.split("-", 1)[0]
        if not owner.isdigit() or _alive(int(owner)):
            continue
        ports = (folder / "ports").read_text().split() if (folder / "ports").is_file() else []
        if len(ports) == 2:
            KafkaProcess(int(ports[0]), int(ports[1]), folder / "data", folder / "logs").stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fuzz_kafka() -> Iterator[str]:
    """A one-node KRaft broker on free ports, only for this suite; stopped at the end."""
    _stop_orphaned_brokers()
    base = KAFKA_BASE / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    base.mkdir(parents=True)
    port, controller = testing.free_ports(2)
    (base / "ports").write_text(f"{port} {controller}")
    kafka = KafkaProcess(port, controller, base / "data", base / "logs", heap="384m")
    try:
        kafka.start(timeout=180)
        yield kafka.bootstrap
    finally:
        kafka.stop()
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(app: Any, timeout: float = 90) -> None:
    """/health/ready answers 200 (migrations applied, Kafka connected), asked through Schemathesis's client."""
    deadline = time.monotonic() + timeout
    last = None
    with st_asgi.get_client(app) as client:
        while time.monotonic() < deadline:
            last = client.get("/health/ready")
            if last.status_code == 200:
                return
            time.sleep(0.3)
    raise AssertionError(f"service not ready after {timeout}s: {last.text if last is not None else None}")


class WithoutLifespan:
    """The app as Schemathesis sees it: lifespan messages are acknowledged and nothing more, HTTP goes through.

    Schemathesis's pytest plugin ends every ASGI lifespan it started at each test's teardown (one test per
    operation), and a service's lifespan is not made to be run twice on one app (its runtime keeps the first
    run's ended tasks). So the fixture runs the real lifespan itself, once per service, on Schemathesis's own
    event loop -- the loop every request is served on, which the app's asyncpg pool and Kafka clients are
    bound to."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.app(scope, receive, send)


async def _lifespan_manager(app: Any) -> LifespanManager:
    return LifespanManager(app, startup_timeout=90, shutdown_timeout=30)  # made on the loop it will run on


class Services:
    """Runs one service at a time: asking for another stops the current one (lifespan, database)."""

    def __init__(self, admin_dsn: str, bootstrap: str) -> None:
        self.admin_dsn, self.bootstrap = admin_dsn, bootstrap
        self.current: tuple[str, Any, str, Any] | None = None

    def get(self, service: str) -> Any:
        """The running service's app (started on first use)."""
        if self.current is not None and self.current[0] == service:
            return self.current[1]
        self.stop()
        dsn = asyncio.run(testing.create_database(self.admin_dsn, testing.unique(f"fuzz_{service}")))
        try:
            app = build_app(service, dsn, self.bootstrap)
            assert app.openapi() == OPENAPI[service], f"{service}: the app's OpenAPI is not the one collected"
            # Schemathesis serves every in-process request on the event loop of this portal (a private name of
            # the pinned version: schemathesis.python.asgi._get_portal); the lifespan runs there as one task.
            portal = st_asgi._get_portal()
            lifespan = portal.wrap_async_context_manager(portal.call(_lifespan_manager, app))
            manager = lifespan.__enter__()
        except BaseException:
            asyncio.run(testing.drop_database(self.admin_dsn, dsn))
            raise
        self.current = (service, WithoutLifespan(manager.app), dsn, lifespan)
        _wait_ready(self.current[1])
        return self.current[1]

    def stop(self) -> None:
        if self.current is None:
            return
        _, _, dsn, lifespan = self.current
        self.current = None
        try:
            lifespan.__exit__(None, None, None)
        finally:
            asyncio.run(testing.drop_database(self.admin_dsn, dsn))


@pytest.fixture(scope="module")
def services(infra: testing.Infra, fuzz_kafka: str) -> Iterator[Services]:
    running = Services(infra.admin_dsn, fuzz_kafka)
    try:
        yield running
    finally:
        running.stop()


# The OpenAPI documents, read at collection from apps that are built but not started (nothing connects before
# the lifespan), so that every operation is a test of its own: test_<service>[METHOD /path]. A service whose app
# cannot even be built gets one failing test with the error, and the other services are fuzzed all the same.
OPENAPI: dict[str, dict[str, Any]] = {}
BROKEN: dict[str, BaseException] = {}
for _service in SERVICES:
    try:
        OPENAPI[_service] = build_app(_service, "postgresql://collect-only/none", "127.0.0.1:9").openapi()
    except Exception as exc:
        BROKEN[_service] = exc


def fuzz_test(service: str) -> Any:
    """test_<service>: one test per operation of the service's OpenAPI, each sending to the running app."""
    if service in BROKEN:

        def broken() -> None:
            raise AssertionError(f"{service}: the app could not be built: {BROKEN[service]!r}") from BROKEN[service]

        return broken

    schema = schemathesis.openapi.from_dict(OPENAPI[service], config=schemathesis_config())

    @schema.parametrize()
    def test(case: schemathesis.Case[Any], services: Services) -> None:
        case.call_and_validate(app=services.get(service))

    return test


test_surveys = fuzz_test("surveys")
test_training = fuzz_test("training")
test_alerts = fuzz_test("alerts")
test_reporting = fuzz_test("reporting")
