"""compose.yaml, proven: brought up for real with podman-compose on the images `make images` builds, used as
the README says (a simulated half year through the services' published ports; a signed partner alert raised),
and brought down leaving nothing behind (no container, no volume of the project).

Runs in `make test-containers` (Podman set up by deploy/containers/podman-setup.sh). The project gets a name of
its own, so a developer's `docker compose up` of lsg-events is not touched; its ports are compose.yaml's
(8001-8004, 35432, 39092 on 127.0.0.1): a `make run` or another compose project must not hold them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lsg_local.testing import container_engine_answers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORTS = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}
HOST_KAFKA = "127.0.0.1:39092"
TIMEOUT = float(os.environ.get("LSG_TEST_DEMO_TIMEOUT", "600"))


def _compose(project: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "podman-compose"), "-p", project, "-f", str(ROOT / "compose.yaml"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)


def _get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


def _busy(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _project_objects(project: str) -> tuple[list[str], list[str]]:
    label = f"io.podman.compose.project={project}"
    containers = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, check=False
    ).stdout.split()
    volumes = [
        v
        for v in subprocess.run(
            ["podman", "volume", "ls", "-q"], capture_output=True, text=True, check=False
        ).stdout.split()
        if v.startswith(f"{project}_")
    ]
    return containers, volumes


@pytest.fixture(scope="module")
def project() -> Iterator[str]:
    if shutil.which("podman") is None or not container_engine_answers():
        pytest.skip("no Podman engine answers (DOCKER_HOST); `make test-containers` sets it up and runs this")
    for image in (
        "localhost/lsg-kafka:latest",
        "localhost/lsg-postgres:latest",
        *(f"localhost/lsg-{s}:dev" for s in PORTS),
    ):
        if subprocess.run(["podman", "image", "exists", image], check=False).returncode != 0:
            pytest.fail(f"{image} missing: run `make images` first")
    busy = [p for p in (*PORTS.values(), 35432, 39092) if _busy(p)]
    assert not busy, f"compose.yaml's ports are taken on 127.0.0.1 (a make run or another compose project?): {busy}"
    name = f"lsgcompose{uuid.uuid4().hex[:8]}"
    up = _compose(name, "up", "-d")
    try:
        assert up.returncode == 0, f"podman-compose up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        yield name
    finally:
        logs = _compose(name, "logs", timeout=120)
        (ROOT / "test-output").mkdir(exist_ok=True)
        (ROOT / "test-output" / "compose.log").write_text(logs.stdout + logs.stderr)
        down = _compose(name, "down", "-v", "-t", "20")
        print(f"\npodman-compose down -v: exit {down.returncode}")


def _tokens(project: str) -> dict[str, str]:
    """The plain bearer tokens the first start generated into the project's secrets volume."""
    done = subprocess.run(
        ["podman", "volume", "inspect", "--format", "{{.Mountpoint}}", f"{project}_secrets"],
        capture_output=True,
        text=True,
        check=True,
    )
    values: dict[str, str] = {}
    for line in (Path(done.stdout.strip()) / "tokens.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value.strip("'")
    return values


def test_compose_up_runs_the_suite_as_documented_and_down_leaves_nothing(project: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + 300
    pending = dict(PORTS)
    while pending and time.monotonic() < deadline:
        for svc, port in list(pending.items()):
            if _get(f"http://127.0.0.1:{port}/health/ready", timeout=3)[0] == 200:
                del pending[svc]
        time.sleep(2)
    assert not pending, f"not ready after 300 s: {sorted(pending)} (logs: test-output/compose.log)"

    tokens = _tokens(project)
    assert set(tokens) == {"LSG_DEMO_ADMIN_TOKEN", "LSG_DEMO_EDITOR_TOKEN", "LSG_DEMO_VIEWER_TOKEN"}
    assert _get("http://127.0.0.1:8001/v1/audit", tokens["LSG_DEMO_ADMIN_TOKEN"])[0] == 200, "the token works"
    assert _get("http://127.0.0.1:8001/v1/audit")[0] == 401

    secrets_file = tmp_path / "tokens.env"
    secrets_file.write_text("".join(f"{k}={v}\n" for k, v in tokens.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_", "OTEL_"))}
    env["LSG_KAFKA_BOOTSTRAP"] = HOST_KAFKA
    argv = [str(BIN / "lsg-demo"), "--scenario", "mid-year", "--speed", "max", "--quiet"]
    argv += ["--secrets-file", str(secrets_file), "--wait-timeout", "180"]
    argv += [a for svc, port in PORTS.items() for a in (f"--{svc}-url", f"http://127.0.0.1:{port}")]
    demo = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert demo.returncode == 0, f"lsg-demo failed:\n{demo.stdout[-2000:]}\n{demo.stderr[-3000:]}"

    status, body = _get("http://127.0.0.1:8004/v1/indicators")
    assert status == 200
    indicators = {i["code"]: i for i in body["indicators"]}
    for code in ("SD.SURVEYS", "SD.RESPONDENTS", "ED.TRAINING_COMPLETED", "CA.DEVICES_INSTALLED"):
        assert (indicators[code]["actual"] or 0) > 0, f"{code} did not move: {indicators[code]}"

    url = "http://127.0.0.1:8003/v1/alerts?limit=500&drills=include"
    status, alerts = _get(url, tokens["LSG_DEMO_VIEWER_TOKEN"])
    assert status == 200, status
    items = alerts["items"] if isinstance(alerts, dict) else alerts
    from_partners = [a for a in items if a.get("partner_id")]
    assert from_partners, f"no signed partner alert was raised: {items[:3]}"


def test_down_left_nothing(project: str) -> None:
    """Runs after the module's other test; the fixture's teardown has not run yet, so bring it down here."""
    down = _compose(project, "down", "-v", "-t", "20")
    assert down.returncode == 0, down.stderr[-2000:]
    containers, volumes = _project_objects(project)
    assert containers == [], f"containers left: {containers}"
    assert volumes == [], f"volumes left: {volumes}"
    assert not [p for p in PORTS.values() if _busy(p)], "a port is still served"
