"""The one service image template (deploy/containers/service.Dockerfile), rendered for each service with the build
arguments `make images` passes (no engine needed: the Dockerfile is parsed as text)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "containers" / "service.Dockerfile"
BUILD_SCRIPT = ROOT / "deploy" / "containers" / "build-images.sh"
SERVICES = ("surveys", "training", "alerts", "reporting")
VALUES = yaml.safe_load((ROOT / "deploy/helm/lsg/values.yaml").read_text(encoding="utf-8"))

pytestmark = pytest.mark.unit


def build_ports() -> dict[str, int]:
    """The PORT build argument build-images.sh passes for each service."""
    found = re.search(r"declare -A ports=\(([^)]*)\)", BUILD_SCRIPT.read_text(encoding="utf-8"))
    assert found, "build-images.sh names each service's port"
    return {name: int(port) for name, port in re.findall(r"\[(\w+)\]=(\d+)", found.group(1))}


def render(service: str, port: int) -> str:
    """The template with the build arguments SERVICE and PORT substituted, as the builder does."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in (("SERVICE", service), ("PORT", str(port))):
        text = text.replace(f"${{{name}}}", value)
        text = re.sub(rf"\${name}\b", value, text)
    return text


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
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
def port(service: str) -> int:
    return int(VALUES["components"][service]["port"])


@pytest.fixture
def instrs(service: str, port: int) -> list[tuple[str, str]]:
    return instructions(render(service, port))


def test_one_template_and_make_images_passes_the_chart_s_ports() -> None:
    assert not [s for s in SERVICES if (ROOT / "services" / s / "Dockerfile").exists()], "per-service Dockerfiles"
    assert build_ports() == {s: int(VALUES["components"][s]["port"]) for s in SERVICES}
    script = BUILD_SCRIPT.read_text(encoding="utf-8")
    assert '--build-arg SERVICE="$svc" --build-arg PORT="${ports[$svc]}"' in script
    assert "deploy/containers/service.Dockerfile" in script
    raw = instructions(TEMPLATE.read_text(encoding="utf-8"))
    for stage in stages(raw):
        declared = {rest.partition("=")[0] for w, rest in stage if w == "ARG"}
        used = set(re.findall(r"\$\{?(SERVICE|PORT)\b", " ".join(rest for w, rest in stage if w != "ARG")))
        assert used <= declared, f"a stage uses {used - declared} without declaring the ARG"


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
    copies = [rest for word, rest in st[-1] if word == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]


def test_runs_as_uid_10001(instrs: list[tuple[str, str]]) -> None:
    final = stages(instrs)[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "no USER in the final stage"
    assert users[-1] == "10001"
    runs = " ".join(rest for w, rest in final if w == "RUN")
    assert "groupadd --system --gid 10001 lsg" in runs
    assert "useradd --system --uid 10001 --gid 10001" in runs
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


def test_installs_only_the_service_shared_and_the_event_contracts(service: str, instrs: list[tuple[str, str]]) -> None:
    copies = [rest for w, rest in instrs if w == "COPY"]
    lock = next(i for i, c in enumerate(copies) if "requirements.lock" in c)
    assert f"services/{service}/pyproject.toml services/{service}/pyproject.toml" in copies
    assert "shared/pyproject.toml shared/pyproject.toml" in copies
    assert "clients/lsg-events/pyproject.toml clients/lsg-events/pyproject.toml" in copies
    events_src = copies.index("clients/lsg-events/ clients/lsg-events/")
    shared_src = copies.index("shared/ shared/")
    service_src = copies.index(f"services/{service}/ services/{service}/")
    assert lock < events_src < shared_src < service_src, "dependency layer before the sources"
    copied = {c.split()[0] for c in copies if not c.startswith("--from")}
    assert copied == {
        "pyproject.toml",
        "clients/lsg-events/pyproject.toml",
        "shared/pyproject.toml",
        f"services/{service}/pyproject.toml",
        "clients/lsg-events/",
        "shared/",
        f"services/{service}/",
    }
    runs = " ".join(rest for w, rest in instrs if w == "RUN")
    assert "-c /tmp/constraints.txt" in runs, "dependencies resolve only within requirements.lock"
    assert f"clients/lsg-events/pyproject.toml shared/pyproject.toml services/{service}/pyproject.toml" in runs
    assert f"--no-deps ./clients/lsg-events ./shared ./services/{service} " in runs, "members installed non-editable"
    assert "-e ./" not in runs
    others = [s for s in SERVICES if s != service]
    text = " ".join(rest for _, rest in instrs)
    assert not [s for s in others if f"services/{s}" in text or f"lsg-{s}" in text]


def test_port_environment_and_entrypoint(service: str, port: int, instrs: list[tuple[str, str]]) -> None:
    final = stages(instrs)[-1]
    env = " ".join(rest for w, rest in final if w == "ENV")
    for setting in ("PATH=/opt/venv/bin:$PATH", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert setting in env
    assert f"LSG_HTTP_PORT={port}" in env
    assert ("EXPOSE", str(port)) in final
    assert [rest for w, rest in final if w == "EXPOSE"] == [str(port)]
    assert json.loads(next(rest for w, rest in final if w == "ENTRYPOINT")) == ["lsg-service"]
    assert json.loads(next(rest for w, rest in final if w == "CMD")) == ["serve"]
    runs = " ".join(rest for w, rest in instrs if w == "RUN")
    assert f'ln -s "lsg-{service}" /opt/venv/bin/lsg-service' in runs, "lsg-service is this service's script"
    pyproject = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"lsg-{service}" in pyproject["project"]["scripts"]
    labels = " ".join(rest for w, rest in final if w == "LABEL")
    assert f'org.opencontainers.image.title="lsg-{service}"' in labels


def test_dockerignore_keeps_what_the_build_copies() -> None:
    lines = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "*", "allow-list: ignore everything, then re-include"
    for needed in ("!pyproject.toml", "!requirements.lock", "!clients/", "!shared/", "!services/"):
        assert needed in lines
    for junk in ("**/.venv", "**/__pycache__"):
        assert junk in lines
