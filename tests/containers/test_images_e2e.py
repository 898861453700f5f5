"""The four service images as containers, the way the Helm chart runs them, on Kafka and PostgreSQL containers.

Runs through any Docker-compatible API (Docker, or Podman's service via ``DOCKER_HOST``; ``make test-containers``
starts one) on the images of ``make images``. Skipped when no engine answers or an image is missing.
Each service container is non-root (uid 10001), has a read-only root filesystem with a tmpfs on /tmp, no
capabilities and no-new-privileges, as ``deploy/helm/lsg`` demands. Prints image sizes and start-up times.

Then the simulator (``lsg-demo`` from the host's ``.venv``: it is a development tool, not in the service images)
plays a short scenario through the containers' public doors: their HTTP APIs on loopback-published ports, and the
partner topic through the broker's second listener (``HOST``, published on a loopback port and advertised as
``127.0.0.1:<port>``; the services use the ``PLAINTEXT`` listener advertised by container name). The services get
their secrets and bearer tokens from the code that ``make run`` uses (``deploy/local/scripts/run.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lsg_local.testing import container_engine_answers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}
TAG = os.environ.get("LSG_TEST_IMAGE_TAG", "dev")
KAFKA_IMAGE = os.environ.get("LSG_TEST_KAFKA_IMAGE", "localhost/lsg-kafka:latest")
PG_IMAGE = os.environ.get("LSG_TEST_POSTGRES_IMAGE", "localhost/lsg-postgres:latest")
READY_TIMEOUT = float(os.environ.get("LSG_TEST_READY_TIMEOUT", "180"))
DEMO_TIMEOUT = float(os.environ.get("LSG_TEST_DEMO_TIMEOUT", "600"))
LABEL = {"lsg.test": "containers-e2e"}
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _image(svc: str) -> str:
    return f"localhost/lsg-{svc}:{TAG}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 3) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback only)
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def docker_client() -> Iterator[Any]:
    if not container_engine_answers():
        pytest.skip("no Docker-compatible engine answers (DOCKER_HOST); `make test-containers` starts Podman's")
    import docker

    client = docker.from_env()
    missing = [i for i in [KAFKA_IMAGE, PG_IMAGE, *(_image(s) for s in SERVICES)] if not _exists(client, i)]
    if missing:
        pytest.skip(f"images missing: {', '.join(missing)}; run `make images`")
    yield client
    client.close()


def _exists(client: Any, image: str) -> bool:
    import docker.errors

    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


def _run_script() -> ModuleType:
    """``deploy/local/scripts/run.py`` (``make run``): its secrets and bearer-token code, reused as it is."""
    spec = importlib.util.spec_from_file_location("lsg_make_run", ROOT / "deploy" / "local" / "scripts" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait_for(container: Any, check: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status in ("exited", "dead"):
            raise AssertionError(f"{container.name} exited:\n{container.logs(tail=30).decode('utf-8', 'replace')}")
        if check(container):
            return
        time.sleep(0.5)
    raise AssertionError(f"{container.name} not ready after {timeout:.0f} s")


def _postgres_ready(container: Any) -> bool:
    """The server that accepts connections, not the temporary one of the first start's initialisation (the
    project's image and the official one both log "init process complete" between the two)."""
    return b"ready to accept connections" in container.logs().split(b"init process complete")[-1]


@dataclass
class Stack:
    network: str
    ports: dict[str, int]
    ready_s: dict[str, float]
    failures: dict[str, str]
    kafka_bootstrap: str  # the broker's HOST listener, as the host reaches it
    secrets_file: Path  # LSG_DEMO_ADMIN_TOKEN / LSG_DEMO_EDITOR_TOKEN for lsg-demo (make run's format)


@pytest.fixture(scope="module")
def stack(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka, PostgreSQL and the four services on one private network; removed afterwards, whatever happens."""
    client = docker_client
    run_py = _run_script()
    secrets_file = tmp_path_factory.mktemp("secrets") / "secrets.env"
    with contextlib.redirect_stdout(io.StringIO()):  # its "make run: generated ..." line would mislead here
        values = run_py.load_or_create_secrets(secrets_file)  # pseudonym keys, alerts secrets key, demo tokens
    service_secrets = {k: v for k, v in values.items() if not k.startswith("LSG_DEMO_")}
    service_secrets["LSG_API_TOKENS"] = run_py.api_tokens(values)  # the services see only the tokens' hashes
    kafka_port = _free_port()
    run_id = uuid.uuid4().hex[:8]
    network = client.networks.create(f"lsg-e2e-{run_id}", labels=LABEL)
    containers: list[Any] = []

    def host(name: str) -> str:  # containers resolve each other by name on the network
        return f"lsg-e2e-{run_id}-{name}"

    def run(image: str, name: str, **kwargs: Any) -> Any:
        c = client.containers.run(image, name=host(name), detach=True, labels=LABEL, network=network.name, **kwargs)
        containers.append(c)
        return c

    try:
        t0 = time.monotonic()
        run(PG_IMAGE, "postgres", environment={"POSTGRES_PASSWORD": "postgres"})
        run(
            KAFKA_IMAGE,
            "kafka",
            environment={
                # PLAINTEXT for the containers (by name on the network), HOST for lsg-demo on the host
                "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:9094",
                "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host('kafka')}:9092,HOST://127.0.0.1:{kafka_port}",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,HOST:PLAINTEXT",
                "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
            },
            ports={"9094/tcp": ("127.0.0.1", kafka_port)},
        )
        # like a chart's dependencies: services start once PostgreSQL and the broker are up (a service that
        # cannot reach them at start-up exits, and nothing here restarts it)
        # from the logs, not `exec pg_isready`: every exec through Podman's API leaves a conmon behind for its
        # exit delay (5 min), after the container is gone
        _wait_for(containers[0], _postgres_ready)
        _wait_for(containers[1], lambda c: b"Kafka Server started" in c.logs())
        infra_s = time.monotonic() - t0
        ports = {svc: _free_port() for svc in SERVICES}
        started: dict[str, float] = {}
        for svc, port in SERVICES.items():
            run(
                _image(svc),
                svc,
                environment={
                    **service_secrets,
                    "LSG_KAFKA_BOOTSTRAP": f"{host('kafka')}:9092",
                    "LSG_DATABASE_URL": f"postgresql://postgres:postgres@{host('postgres')}:5432/lsg_{svc}",
                    "LSG_HTTP_PORT": str(port),
                    "LSG_LOG_LEVEL": "WARNING",
                    "OTEL_SDK_DISABLED": "true",
                },
                ports={f"{port}/tcp": ("127.0.0.1", ports[svc])},
                # what the chart's securityContext demands
                user="10001:10001",
                read_only=True,
                tmpfs={"/tmp": "rw,size=64m"},  # noqa: S108
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
            )
            started[svc] = time.monotonic()
        ready_s: dict[str, float] = {}
        failures: dict[str, str] = {}
        pending = set(SERVICES)
        deadline = time.monotonic() + READY_TIMEOUT
        last: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            for svc in sorted(pending):
                c = next(c for c in containers if c.name.endswith(f"-{svc}"))
                c.reload()
                if c.status in ("exited", "dead"):
                    logs = c.logs(tail=25).decode("utf-8", "replace")
                    failures[svc] = f"container exited ({c.attrs['State'].get('ExitCode')}):\n{logs}"
                    pending.discard(svc)
                    continue
                try:
                    status, body = _get(f"http://127.0.0.1:{ports[svc]}/health/ready")
                except OSError as exc:
                    last[svc] = f"no answer: {exc}"
                    continue
                last[svc] = f"{status} {body[:300]}"
                if status == 200:
                    ready_s[svc] = time.monotonic() - started[svc]
                    pending.discard(svc)
            time.sleep(0.5)
        for svc in pending:
            c = next(c for c in containers if c.name.endswith(f"-{svc}"))
            logs = c.logs(tail=25).decode("utf-8", "replace")
            failures[svc] = f"not ready after {READY_TIMEOUT:.0f} s; last /health/ready: {last.get(svc)}\n{logs}"
        print(f"\nKafka + PostgreSQL containers ready in {infra_s:.1f} s; whole stack {time.monotonic() - t0:.1f} s")
        yield Stack(network.name, ports, ready_s, failures, f"127.0.0.1:{kafka_port}", secrets_file)
    finally:
        for c in reversed(containers):
            with contextlib.suppress(Exception):
                c.remove(force=True, v=True)
        with contextlib.suppress(Exception):
            network.remove()


def test_images_sizes_printed(docker_client: Any) -> None:
    rows = []
    for image in [*(_image(s) for s in SERVICES), KAFKA_IMAGE, PG_IMAGE]:
        size = docker_client.images.get(image).attrs.get("Size", 0)
        rows.append(f"  {image:<40} {size / 1e6:8.1f} MB")
        assert size > 0
    print("\nimage sizes:\n" + "\n".join(rows))


def test_every_service_image_runs_hardened_and_reports_ready(stack: Stack) -> None:
    print("\nstart-up to /health/ready (non-root, read-only root fs):")
    for svc in SERVICES:
        took = stack.ready_s.get(svc)
        print(f"  lsg-{svc:<10} {f'{took:6.1f} s' if took is not None else 'NOT READY'}")
    assert not stack.failures, "services not ready in containers:\n" + "\n\n".join(
        f"--- lsg-{svc}: {why}" for svc, why in stack.failures.items()
    )


def _indicators(port: int) -> dict[str, dict[str, Any]]:
    status, body = _get(f"http://127.0.0.1:{port}/v1/indicators", timeout=10)
    assert status == 200, body
    return {i["code"]: i for i in json.loads(body)["indicators"]}


def _metric(port: int, name: str, **labels: str) -> float:
    """The sum of one metric's samples with these labels, from the service's ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    status, body = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, body
    return sum(
        s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_short_simulated_run_moves_the_indicators(stack: Stack) -> None:
    """``lsg-demo --scenario mid-year --speed max`` against the containers moves the reporting container's
    indicators from zero; the devices' heartbeats reach the alerts container through the partner topic."""
    if stack.failures:
        pytest.skip(f"not every service is ready (see the readiness test): {', '.join(sorted(stack.failures))}")
    demo = BIN / "lsg-demo"
    assert demo.exists(), f"{demo} missing: `make install` installs deploy/demo into the venv"
    reporting = stack.ports["reporting"]
    before = _indicators(reporting)
    assert before, "reporting lists no indicators"
    moved_before = sorted(c for c, i in before.items() if i["actual"])
    assert not moved_before, f"indicators not at zero on fresh databases: {moved_before}"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_", "OTEL_"))}
    env["LSG_KAFKA_BOOTSTRAP"] = stack.kafka_bootstrap  # heartbeats on the partner topic, lag from the broker
    argv = [
        str(demo),
        "--scenario",
        "mid-year",
        "--speed",
        "max",
        "--quiet",
        "--secrets-file",
        str(stack.secrets_file),
        "--wait-timeout",
        "180",
        *(a for svc, port in stack.ports.items() for a in (f"--{svc}-url", f"http://127.0.0.1:{port}")),
    ]
    t0 = time.monotonic()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=DEMO_TIMEOUT, check=False)
    took = time.monotonic() - t0
    print(f"\nlsg-demo {' '.join(argv[1:6])} against the containers: {took:.1f} s (exit {result.returncode})")
    print(result.stdout.rstrip())
    assert result.returncode == 0, f"lsg-demo failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    assert "partner topic not reachable" not in result.stderr, (
        f"lsg-demo could not reach the broker's HOST listener {stack.kafka_bootstrap}:\n{result.stderr[-2000:]}"
    )

    after = _indicators(reporting)
    moved = sorted(c for c, i in after.items() if i["actual"])
    print(f"{len(moved)} of {len(after)} indicators moved from zero")
    for code in ("SD.SURVEYS", "SD.RESPONDENTS", "ED.TRAINING_COMPLETED", "CA.DEVICES_INSTALLED"):
        assert (after[code]["actual"] or 0) > 0, f"{code} did not move: {after[code]}"
    assert after["SD.RESPONDENTS"]["actual"] >= 250, after["SD.RESPONDENTS"]  # a survey wave has ≥ 250
    # the monthly heartbeat rounds went to the partner topic (the commissioning ones over HTTP): the alerts
    # container consumed them, and refused none
    door = {"consumer": "alerts-partner-door"}
    heartbeats = _metric(stack.ports["alerts"], "lsg_events_consumed_total", event_type="heartbeat", **door)
    deadline = time.monotonic() + 60
    while heartbeats == 0 and time.monotonic() < deadline:
        time.sleep(1)
        heartbeats = _metric(stack.ports["alerts"], "lsg_events_consumed_total", event_type="heartbeat", **door)
    refused = _metric(stack.ports["alerts"], "lsg_dead_letters_total", **door)
    print(f"alerts consumed {heartbeats:.0f} heartbeats from the partner topic, refused {refused:.0f}")
    assert heartbeats > 0, "no heartbeat reached the alerts container through the partner topic"
    assert refused == 0, "the alerts container dead-lettered partner records"
