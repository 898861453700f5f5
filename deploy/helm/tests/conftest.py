"""Fixtures for the chart tests: the helm binary built by deploy/helm/install-helm.sh and a renderer."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
HELM_DIR = REPO_ROOT / "deploy" / "helm"
CHART = HELM_DIR / "lsg"
PRODUCTION_VALUES = HELM_DIR / "values-production.yaml"
HELM_BIN = REPO_ROOT / ".cache" / "bin" / "helm"
KUBE_VERSION = "1.34.0"
COMPONENTS = ("surveys", "training", "alerts", "reporting")

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def helm() -> Path:
    """The pinned helm binary. Missing: skipped locally, built (or failed) under CI."""
    if not HELM_BIN.exists():
        if not os.environ.get("CI"):
            pytest.skip(
                f"helm is not built at {HELM_BIN}: run `bash deploy/helm/install-helm.sh` "
                "(needs Go); under CI (CI set) these tests build it or fail"
            )
        subprocess.run(["bash", str(HELM_DIR / "install-helm.sh")], check=True)
        if not HELM_BIN.exists():
            pytest.fail(f"helm missing at {HELM_BIN} after install-helm.sh")
    return HELM_BIN


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, check=False, cwd=REPO_ROOT)


@pytest.fixture(scope="session")
def render(helm: Path) -> Render:
    """render(values_files=(), sets=(), set_strings=()) -> the rendered objects (hooks included)."""

    def _render(
        values_files: Sequence[Path] = (),
        sets: Sequence[str] = (),
        set_strings: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        args = ["template", "lsg", str(CHART), "--namespace", "lsg", "--kube-version", KUBE_VERSION]
        for f in values_files:
            args += ["-f", str(f)]
        for s in sets:
            args += ["--set", s]
        for s in set_strings:
            args += ["--set-string", s]
        proc = run_helm(helm, *args)
        if proc.returncode != 0:
            raise RenderError(proc.stderr)
        return [d for d in yaml.safe_load_all(proc.stdout) if d]

    return _render


class RenderError(Exception):
    """helm template failed; the message is helm's stderr."""


@pytest.fixture(scope="session")
def default_objects(render: Render) -> list[dict[str, Any]]:
    return render()


@pytest.fixture(scope="session")
def production_objects(render: Render) -> list[dict[str, Any]]:
    return render([PRODUCTION_VALUES])


@pytest.fixture(params=["default", "production"], scope="session")
def objects(request: pytest.FixtureRequest, render: Render) -> list[dict[str, Any]]:
    return render([PRODUCTION_VALUES] if request.param == "production" else [])


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec
