"""The four service images as containers, the way the Helm chart runs them, on Kafka and PostgreSQL containers.

Runs through any Docker-compatible API (Docker, or Podman's service via ``DOCKER_HOST``; ``make test-containers``
starts one) on the images of ``make images``. Skipped when no engine answers or an image is missing.
Each service container is non-root (uid 10001), has a read-only root filesystem with a tmpfs on /tmp, no
capabilities and no-new-privileges, as ``deploy/helm/lsg`` demands. Prints image sizes and start-up times.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lsg_local.testing import container_engine_answers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}
TAG = os.environ.get("LSG_TEST_IMAGE_TAG", "dev")
KAFKA_IMAGE = os.environ.get("LSG_TEST_KAFKA_IMAGE", "localhost/lsg-kafka:latest")
PG_IMAGE = os.environ.get("LSG_TEST_POSTGRES_IMAGE", "localhost/lsg-postgres:latest")
READY_TIMEOUT = float(os.environ.get("LSG_TEST_READY_TIMEOUT", "180"))
LABEL = {"lsg.test": "containers-e2e"}


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


@dataclass
class Stack:
    network: str
    ports: dict[str, int]
    ready_s: dict[str, float]
    failures: dict[str, str]


@pytest.fixture(scope="module")
def stack(docker_client: Any) -> Iterator[Stack]:
    """Kafka, PostgreSQL and the four services on one private network; removed afterwards, whatever happens."""
    client = docker_client
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
                "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host('kafka')}:9092",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
            },
        )
        # like a chart's dependencies: services start once PostgreSQL and the broker are up (a service that
        # cannot reach them at start-up exits, and nothing here restarts it)
        _wait_for(containers[0], lambda c: c.exec_run(["pg_isready", "-h", "127.0.0.1", "-q"]).exit_code == 0)
        _wait_for(containers[1], lambda c: b"Kafka Server started" in c.logs())
        infra_s = time.monotonic() - t0
        ports = {svc: _free_port() for svc in SERVICES}
        started: dict[str, float] = {}
        for svc, port in SERVICES.items():
            run(
                _image(svc),
                svc,
                environment={
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
        yield Stack(network.name, ports, ready_s, failures)
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


def _openapi_paths(port: int) -> set[str]:
    status, body = _get(f"http://127.0.0.1:{port}/openapi.json")
    return set(json.loads(body).get("paths", {})) if status == 200 else set()


def test_short_simulated_run_moves_the_indicators(stack: Stack) -> None:
    """Pending until the reporting service serves ``/v1/indicators`` and a simulator exists (its own issue):
    then a few events posted through the services' public HTTP APIs must move an indicator's actual."""
    if "reporting" in stack.failures:
        pytest.skip("reporting is not ready (see the readiness test)")
    paths = _openapi_paths(stack.ports["reporting"])
    if "/v1/indicators" not in paths:
        pytest.skip("pending: the reporting image serves no /v1/indicators yet")
    status, body = _get(f"http://127.0.0.1:{stack.ports['reporting']}/v1/indicators")
    assert status == 200, body
    indicators = json.loads(body).get("indicators", [])
    assert indicators, "reporting lists no indicators"
    print(f"\nreporting lists {len(indicators)} indicators through its container")
    # the simulator (its own issue) will post a short run of events through the services' HTTP APIs here and
    # assert that an indicator's actual moves; until then this part is reported, not faked
    pytest.skip("pending: no simulator yet to post events through the services' public APIs")
