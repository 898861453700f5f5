"""compose.yaml agrees with the images `make images` builds, the ports the README documents, and the chart's
security settings. Static checks run everywhere; the image checks need a Docker-compatible engine (DOCKER_HOST)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lsg_local.testing import container_engine_answers

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}


def _default(value: str) -> str:
    """Expand ${VAR:-default} the way compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.mark.unit
def test_every_service_has_its_image_port_database_and_broker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*SERVICES, "kafka", "postgres", "secrets"}
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for svc, port in SERVICES.items():
        spec = services[svc]
        assert _default(spec["image"]) == f"localhost/lsg-{svc}:dev"
        assert spec["ports"] == [f"127.0.0.1:{port}:{port}"]
        env = spec["environment"]
        assert env["LSG_HTTP_PORT"] == str(port)
        assert env["LSG_DATABASE_URL"].endswith(f"@postgres:5432/lsg_{svc}")
        assert f"PLAINTEXT://{env['LSG_KAFKA_BOOTSTRAP']}" in advertised
        assert set(spec["depends_on"]) == {"kafka", "postgres", "secrets"}
        assert spec["depends_on"]["secrets"]["condition"] == "service_completed_successfully"
        assert "secrets:/run/lsg:ro" in spec["volumes"]


@pytest.mark.unit
def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    """Tokens and keys are generated at the first start into a volume (the `secrets` service), never committed."""
    for name, spec in compose["services"].items():
        for key in spec.get("environment", {}):
            assert not any(word in key for word in ("TOKEN", "PSEUDONYM_KEY", "SECRETS_KEY")), (name, key)
    assert compose["services"]["secrets"]["entrypoint"][:3] == ["lsg-admin", "secrets", "init"]


@pytest.mark.unit
def test_services_run_as_the_chart_demands(compose: dict[str, Any]) -> None:
    values = yaml.safe_load((ROOT / "deploy/helm/lsg/values.yaml").read_text())
    chart_uid = re.search(r"runAsUser:\s*(\d+)", yaml.safe_dump(values)).group(1)  # type: ignore[union-attr]
    for svc in SERVICES:
        spec = compose["services"][svc]
        assert spec["user"].split(":")[0] == chart_uid
        assert spec["read_only"] is True
        assert spec["cap_drop"] == ["ALL"]
        assert any(t.startswith("/tmp") for t in spec["tmpfs"])  # noqa: S108 (the chart's emptyDir at /tmp)


@pytest.mark.unit
def test_no_published_port_collides_with_the_local_stack(compose: dict[str, Any]) -> None:
    published = [int(p.split(":")[1]) for s in compose["services"].values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))
    assert not [p for p in published if p in (25432, 29092, 29093)], "the local stack's ports (make infra)"
    assert all(p.startswith("127.0.0.1:") for s in compose["services"].values() for p in s.get("ports", []))


@pytest.mark.integration
def test_compose_images_exist_and_match(compose: dict[str, Any]) -> None:
    if not container_engine_answers():
        pytest.skip("no Docker-compatible engine answers (DOCKER_HOST)")
    import docker
    import docker.errors

    client = docker.from_env()
    try:
        for name, spec in compose["services"].items():
            image = _default(spec["image"])
            try:
                attrs = client.images.get(image).attrs
            except docker.errors.ImageNotFound:
                pytest.fail(f"{name}: image {image} missing; run `make images`")
            config = attrs.get("Config") or {}
            if name in SERVICES:
                assert f"{SERVICES[name]}/tcp" in (config.get("ExposedPorts") or {}), image
                assert config.get("User") == "10001", image
            elif name == "secrets":  # the one-shot secrets job runs lsg-admin from a service image
                assert image == "localhost/lsg-surveys:dev", image
            elif name == "kafka":
                assert "9092/tcp" in (config.get("ExposedPorts") or {}), image
            else:
                assert "5432/tcp" in (config.get("ExposedPorts") or {}), image
    finally:
        client.close()
