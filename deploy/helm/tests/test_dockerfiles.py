"""Lint the services' Dockerfiles (no Docker engine needed): they are parsed as text."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("surveys", "training", "alerts", "reporting")
VALUES = yaml.safe_load((REPO_ROOT / "deploy/helm/lsg/values.yaml").read_text(encoding="utf-8"))


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(instrs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instr in instrs:
        if instr[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instr)
    return result


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def instrs(service: str) -> list[tuple[str, str]]:
    return instructions(REPO_ROOT / "services" / service / "Dockerfile")


def test_pinned_base_image_arg(instrs: list[tuple[str, str]]) -> None:
    assert instrs[0][0] == "ARG", "the base image ARG comes first, so every FROM can use it"
    name, _, default = instrs[0][1].partition("=")
    assert name == "BASE_IMAGE"
    image, _, tag = default.partition(":")
    assert image == "python"
    assert re.fullmatch(r"3\.11(\.\d+)?-slim-bookworm", tag), f"unpinned base tag {tag!r}"
    froms = [rest for word, rest in instrs if word == "FROM"]
    assert all(f.startswith("${BASE_IMAGE}") for f in froms), froms


def test_multi_stage_and_final_stage_copies_only_the_venv(instrs: list[tuple[str, str]]) -> None:
    st = stages(instrs)
    assert len(st) >= 2
    final = st[-1]
    copies = [rest for word, rest in final if word == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]


def test_non_root_user(instrs: list[tuple[str, str]]) -> None:
    users = [rest for word, rest in stages(instrs)[-1] if word == "USER"]
    assert users, "no USER in the final stage"
    assert users[-1] == "10001"
    user_index = max(i for i, (w, _) in enumerate(instrs) if w == "USER")
    entry_index = max(i for i, (w, _) in enumerate(instrs) if w == "ENTRYPOINT")
    assert user_index < entry_index


def test_no_healthcheck(instrs: list[tuple[str, str]]) -> None:
    # Kubernetes probes own health; a HEALTHCHECK would only cost CPU.
    assert "HEALTHCHECK" not in {w for w, _ in instrs}


def test_uv_is_pinned(instrs: list[tuple[str, str]]) -> None:
    args = dict(rest.partition("=")[::2] for w, rest in instrs if w == "ARG")
    assert re.fullmatch(r"\d+\.\d+\.\d+", args["UV_VERSION"])
    assert any(w == "RUN" and "uv==${UV_VERSION}" in rest for w, rest in instrs)


def test_dependency_layer_before_sources(service: str, instrs: list[tuple[str, str]]) -> None:
    copies = [rest for w, rest in instrs if w == "COPY"]
    lock = next(i for i, c in enumerate(copies) if "requirements.lock" in c)
    shared_src = copies.index("shared/ shared/")
    service_src = copies.index(f"services/{service}/ services/{service}/")
    assert f"services/{service}/pyproject.toml services/{service}/pyproject.toml" in copies
    assert "shared/pyproject.toml shared/pyproject.toml" in copies
    assert "clients/lsg-events/pyproject.toml clients/lsg-events/pyproject.toml" in copies
    events_src = copies.index("clients/lsg-events/ clients/lsg-events/")
    assert lock < events_src < shared_src < service_src
    runs = " ".join(rest for w, rest in instrs if w == "RUN")
    assert "-c /tmp/constraints.txt" in runs, "dependencies resolve only within requirements.lock"
    assert f"--no-deps ./clients/lsg-events ./shared ./services/{service}" in runs, "members installed non-editable"
    assert "-e ./" not in runs


def test_environment_port_and_entrypoint(service: str, instrs: list[tuple[str, str]]) -> None:
    final = stages(instrs)[-1]
    env = " ".join(rest for w, rest in final if w == "ENV")
    for setting in ("PATH=/opt/venv/bin:$PATH", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert setting in env
    port = VALUES["components"][service]["port"]
    assert ("EXPOSE", str(port)) in final
    entrypoint = json.loads(next(rest for w, rest in final if w == "ENTRYPOINT"))
    assert entrypoint == [f"lsg-{service}"]
    assert json.loads(next(rest for w, rest in final if w == "CMD")) == ["serve"]
    pyproject = tomllib.loads((REPO_ROOT / "services" / service / "pyproject.toml").read_text(encoding="utf-8"))
    assert entrypoint[0] in pyproject["project"]["scripts"]


def test_dockerignore_keeps_what_the_build_copies() -> None:
    lines = [
        ln.strip()
        for ln in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "*", "allow-list: ignore everything, then re-include"
    for needed in ("!pyproject.toml", "!requirements.lock", "!shared/", "!services/"):
        assert needed in lines
    for junk in ("**/.venv", "**/__pycache__"):
        assert junk in lines
