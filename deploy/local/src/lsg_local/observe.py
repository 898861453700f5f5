"""The opt-in observability stack for local runs and tests: Jaeger receiving the services' traces over OTLP,
and Prometheus scraping their ``/metrics`` with the chart's alert rules loaded.

Jaeger is built from the Go module proxy at a pinned release (deploy/observe/install-jaeger.sh, cached in
.cache/bin); Prometheus is Debian's package (the one that brings ``promtool`` for the rules tests). Both listen
on loopback only; their data lives in memory (Jaeger) or a folder of the caller's (Prometheus) and ends with them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsg_local._paths import repo_root


class ObserveError(RuntimeError):
    """A part of the observability stack could not be built or started."""


def jaeger_binary() -> Path:
    """Build Jaeger once (minutes, cold) and return the cached binary."""
    script = repo_root() / "deploy" / "observe" / "install-jaeger.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    binary = repo_root() / ".cache" / "bin" / "jaeger"
    if done.returncode != 0 or not binary.exists():
        raise ObserveError(f"building jaeger failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return binary


def prometheus_binary() -> Path:
    """Debian's ``prometheus``, installed with the package that brings promtool when it is missing."""
    found = shutil.which("prometheus")
    if found is None:
        script = repo_root() / "deploy" / "helm" / "install-promtool.sh"
        subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
        found = shutil.which("prometheus")
    if found is None:
        raise ObserveError("prometheus is missing: install Debian's 'prometheus' package (as root)")
    return Path(found)


def _get(url: str, timeout: float = 3) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URLs we built)
        return json.loads(response.read() or b"null")


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ObserveError(f"{what} exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            _get(url, timeout=2)
            return
        time.sleep(0.2)
    raise ObserveError(f"{what} did not answer {url} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class JaegerProcess:
    """Jaeger all-in-one on loopback: OTLP/HTTP on ``otlp_http_port``, the query API on ``query_port``."""

    otlp_http_port: int = 4318
    otlp_grpc_port: int = 4317
    query_port: int = 16686
    query_grpc_port: int = 16685
    health_port: int = 13133
    log_path: Path = field(default_factory=lambda: repo_root() / ".data" / "run" / "logs" / "jaeger.log")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def otlp_traces_endpoint(self) -> str:
        """What a service's ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set to."""
        return f"http://127.0.0.1:{self.otlp_http_port}/v1/traces"

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.query_port}"

    def start(self, timeout: float = 60) -> JaegerProcess:
        binary = jaeger_binary()
        config = repo_root() / "deploy" / "observe" / "jaeger.yaml"
        env = dict(
            os.environ,
            LSG_JAEGER_OTLP_HTTP_PORT=str(self.otlp_http_port),
            LSG_JAEGER_OTLP_GRPC_PORT=str(self.otlp_grpc_port),
            LSG_JAEGER_QUERY_PORT=str(self.query_port),
            LSG_JAEGER_QUERY_GRPC_PORT=str(self.query_grpc_port),
            LSG_JAEGER_HEALTH_PORT=str(self.health_port),
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(binary), "--config", f"file:{config}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(f"{self.query_url}/api/services", self.proc, self.log_path, timeout, "jaeger")
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def services(self) -> list[str]:
        return list(_get(f"{self.query_url}/api/services").get("data") or [])

    def traces(self, service: str, limit: int = 50, lookback: str = "1h") -> list[dict[str, Any]]:
        """Traces that hold a span of ``service`` (Jaeger's JSON: spans with processes and references)."""
        url = f"{self.query_url}/api/traces?service={service}&limit={limit}&lookback={lookback}"
        return list(_get(url, timeout=10).get("data") or [])


def prometheus_config(targets: dict[str, str], rules: Iterable[Path], interval_s: int = 5) -> str:
    """A Prometheus configuration scraping ``targets`` (job → host:port) with ``rules`` loaded."""
    lines = ["global:", f"  scrape_interval: {interval_s}s", f"  evaluation_interval: {interval_s}s", "rule_files:"]
    lines += [f"  - {json.dumps(str(r))}" for r in rules]
    lines.append("scrape_configs:")
    for job, target in targets.items():
        lines += [
            f"  - job_name: {json.dumps(job)}",
            "    static_configs:",
            f"      - targets: [{json.dumps(target)}]",
            f"        labels: {{service: {json.dumps(job)}}}",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class PrometheusProcess:
    """Prometheus on loopback scraping the services' ``/metrics``, with the chart's rules file loaded."""

    targets: dict[str, str]
    data_dir: Path
    port: int = 9090
    log_path: Path = field(default_factory=lambda: repo_root() / ".data" / "run" / "logs" / "prometheus.log")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> PrometheusProcess:
        binary = prometheus_binary()
        rules = repo_root() / "deploy" / "helm" / "lsg" / "files" / "prometheus-rules.yaml"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(prometheus_config(self.targets, [rules]))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(binary),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(f"{self.url}/api/v1/status/buildinfo", self.proc, self.log_path, timeout, "prometheus")
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def rule_groups(self) -> list[str]:
        return [g["name"] for g in _get(f"{self.url}/api/v1/rules")["data"]["groups"]]

    def targets_up(self) -> dict[str, bool]:
        active = _get(f"{self.url}/api/v1/targets")["data"]["activeTargets"]
        return {t["labels"].get("job", "?"): t.get("health") == "up" for t in active}
