#!/usr/bin/env python3
"""``make run``: the whole suite on this machine, with a simulated programme year in it.

1. Kafka and PostgreSQL: the local ones (``lsg_local.stack.LocalStack().ensure_started()``), unless
   ``LSG_KAFKA_BOOTSTRAP`` / every ``LSG_<SVC>_DATABASE_URL`` point at existing infrastructure.
2. Local secrets, generated on the first start into ``<state>/run/secrets.env`` (mode 0600): pseudonym keys,
   the alerts secrets key, and bearer tokens of a ``demo-admin`` and a ``demo-editor`` user (plain, for the
   demo; the services get only their SHA-256 hashes in ``LSG_API_TOKENS``).
3. The four services as child processes (``.venv/bin/lsg-<svc> serve``), logs in ``<state>/run/logs/<svc>.log``;
   waits for each ``/health/ready``.
4. The simulator: ``lsg-demo --scenario full-year --speed max --live`` (``--no-demo`` skips it). It is
   idempotent and notices a scenario that is already recorded, so a second ``make run`` adds nothing.
5. One table of URLs; then waits. Ctrl-C (or SIGTERM) stops the simulator and the services (SIGTERM, then
   SIGKILL after a grace period), and Kafka/PostgreSQL too unless they were running before (then they are
   left running, as they were found). ``--keep-infra`` always leaves them running.

``<state>`` is ``$LSG_LOCAL_DIR`` or ``<repo>/.data``. Options: ``--help``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".venv" / "bin"
SERVICES = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}
ASYNCAPI_PORT = 8000
STOP_GRACE_S = 25.0


def say(message: str) -> None:
    print(f"make run: {message}", flush=True)


def state_dir() -> Path:
    env_dir = os.environ.get("LSG_LOCAL_DIR", "").strip()
    return Path(env_dir).expanduser().resolve() if env_dir else ROOT / ".data"


# ---- installation -------------------------------------------------------------------------------------------
def ensure_installed() -> None:
    """`make run` depends on `make install`; this covers a venv made before lsg-demo joined the workspace."""
    missing = [f"lsg-{svc}" for svc in SERVICES if not (BIN / f"lsg-{svc}").exists()]
    if missing:
        raise SystemExit(f"make run: {', '.join(missing)} not installed: run `make install` first")
    if not (BIN / "lsg-demo").exists():
        say("installing lsg-demo (deploy/demo) into .venv")
        subprocess.run(
            [
                "uv",
                "pip",
                "install",
                "--quiet",
                "--python",
                str(BIN / "python"),
                "--no-deps",
                "-e",
                str(ROOT / "deploy" / "demo"),
            ],
            check=True,
            cwd=ROOT,
        )


# ---- infrastructure -----------------------------------------------------------------------------------------
class Infra:
    def __init__(self) -> None:
        self.external_kafka = bool(os.environ.get("LSG_KAFKA_BOOTSTRAP", "").strip())
        self.external_pg = all(os.environ.get(f"LSG_{svc.upper()}_DATABASE_URL", "").strip() for svc in SERVICES)
        self.stack: Any = None
        self.was_running: dict[str, bool] = {}
        self.env: dict[str, str] = {}

    def start(self) -> None:
        t0 = time.monotonic()
        if not (self.external_kafka and self.external_pg):
            from lsg_local.stack import DATABASES, LocalStack

            self.stack = LocalStack()
            self.was_running = self.stack.status()
            if not self.external_kafka and not self.external_pg:
                info = self.stack.ensure_started()
                self.env.update(info.env())
            else:
                if not self.external_kafka:
                    self.stack.kafka.start(180)
                    self.env["LSG_KAFKA_BOOTSTRAP"] = self.stack.kafka.bootstrap
                if not self.external_pg:
                    self.stack.postgres.start(180)
                    self.stack.postgres.create_databases(DATABASES.values())
                    for svc, db in DATABASES.items():
                        self.env[f"LSG_{svc.upper()}_DATABASE_URL"] = self.stack.postgres.dsn(db)
            if not self.external_kafka:
                self.env["LSG_KAFKA_TOPIC_REPLICATION_FACTOR"] = "1"  # one local broker
        for name in ("LSG_KAFKA_BOOTSTRAP", *(f"LSG_{s.upper()}_DATABASE_URL" for s in SERVICES)):
            if os.environ.get(name, "").strip():
                self.env[name] = os.environ[name]
        ours = [n for n, ran in self.was_running.items() if not ran and self._local(n)]
        reused = [n for n, ran in self.was_running.items() if ran and self._local(n)]
        external = [n for n, ext in (("kafka", self.external_kafka), ("postgres", self.external_pg)) if ext]
        say(
            f"infrastructure ready in {time.monotonic() - t0:.1f} s (started: {', '.join(ours) or 'none'}; "
            f"reused: {', '.join(reused) or 'none'}; external: "
            f"{', '.join(external) or 'none'})"
        )

    def _local(self, name: str) -> bool:
        return not (self.external_kafka if name == "kafka" else self.external_pg)

    def stop_what_we_started(self, keep: bool) -> str:
        if self.stack is None:
            return "Kafka and PostgreSQL are external: left alone"
        started = [n for n, ran in self.was_running.items() if not ran and self._local(n)]
        if keep or not started:
            running = [n for n in ("kafka", "postgres") if self._local(n)]
            return f"{' and '.join(running)} left running (" + ("--keep-infra" if keep else "they ran before") + ")"
        if "kafka" in started:
            self.stack.kafka.stop(30)
        if "postgres" in started:
            self.stack.postgres.stop(30)
        return f"stopped {' and '.join(started)} (started by this run; data kept in {self.stack.base_dir})"


# ---- secrets ------------------------------------------------------------------------------------------------
def load_or_create_secrets(path: Path) -> dict[str, str]:
    """`make run`'s secrets in one file (the demo and the README read it): generated once, then kept."""
    from lsg_shared.local_secrets import generate, read_env

    if path.is_file():
        return read_env(path)
    values = generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(
            "# Local secrets of `make run` (generated once; delete the file to regenerate, which makes\n"
            "# earlier pseudonymous keys and stored partner secrets unreadable). Never use them elsewhere.\n"
        )
        for key, value in values.items():
            fh.write(f"{key}={value}\n")
    say(f"generated local secrets in {path}")
    return values


def api_tokens(values: dict[str, str]) -> str:
    from lsg_shared.local_secrets import api_tokens as hashed

    return hashed(values)


# ---- children -----------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """In the child: receive SIGTERM if `make run` itself dies (even by SIGKILL), so nothing is left behind."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


class Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path | None) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab") if log_path else None  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            preexec_fn=_die_with_parent,
            stdout=self._log or None,
            stderr=subprocess.STDOUT if self._log else None,
            stdin=subprocess.DEVNULL,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> str:
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            how = f"exited ({self.proc.returncode})"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            how = "killed after the grace period"
        with contextlib.suppress(ProcessLookupError):  # anything left in its process group
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self._log:
            self._log.close()
        return how

    def tail(self, lines: int = 25) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])


def ready(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http://127.0.0.1)
            return response.status == 200, ""
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode("utf-8", "replace")[:300]
    except OSError as exc:
        return False, str(exc)


def wait_ready(children: dict[str, Child], ports: dict[str, int], timeout: float) -> None:
    pending = dict(ports)
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        for svc in list(pending):
            child = children[svc]
            if not child.alive():
                raise RuntimeError(f"{svc} exited ({child.proc.returncode}) before it was ready:\n{child.tail()}")
            ok, why = ready(f"http://127.0.0.1:{pending[svc]}/health/ready")
            if ok:
                del pending[svc]
            else:
                last[svc] = why
        time.sleep(0.3)
    if pending:
        detail = "; ".join(f"{s}: {last.get(s, '')}" for s in pending)
        raise RuntimeError(f"not ready after {timeout:.0f} s: {detail}")


# ---- AsyncAPI docs ------------------------------------------------------------------------------------------
def serve_asyncapi(port: int) -> ThreadingHTTPServer | None:
    path = ROOT / "docs" / "asyncapi.yaml"
    if not path.is_file():
        return None
    raw = path.read_bytes()
    try:
        import yaml

        document = yaml.safe_load(raw)
        as_json = json.dumps(document).encode()
    except Exception:
        document, as_json = {}, b"{}"
    from lsg_shared.asyncapi_page import render

    # Rendered here, not by a viewer script from a CDN (many municipal networks cannot reach one).
    page = render(document, json_url="/asyncapi.json").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = self.path.split("?")[0]
            body, kind = {
                "/asyncapi.yaml": (raw, "application/yaml"),
                "/asyncapi.json": (as_json, "application/json"),
                "/": (page, "text/html; charset=utf-8"),
            }.get(route, (b"", ""))
            self.send_response(200 if kind else 404)
            self.send_header("content-type", kind or "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        say(f"AsyncAPI docs not served on port {port}: {exc}")
        return None
    threading.Thread(target=server.serve_forever, name="asyncapi-docs", daemon=True).start()
    return server


def start_observers(observers: list[Any], run_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    """Jaeger and Prometheus for `--observe`; the OTLP settings the services get."""
    from lsg_local.observe import JaegerProcess, PrometheusProcess

    say("observability: building/starting Jaeger (first time: several minutes) and Prometheus")
    jaeger = JaegerProcess(log_path=run_dir / "logs" / "jaeger.log").start()
    observers.append(jaeger)
    prometheus = PrometheusProcess(
        {svc: f"127.0.0.1:{port}" for svc, port in ports.items()},
        run_dir / "prometheus",
        log_path=run_dir / "logs" / "prometheus.log",
    ).start()
    observers.append(prometheus)
    return {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": jaeger.otlp_traces_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "500",
    }


def url_table(ports: dict[str, int], docs_port: int | None, observers: tuple[Any, ...] | list[Any] = ()) -> str:
    rows = [(f"{svc} API docs", f"http://127.0.0.1:{port}/docs") for svc, port in ports.items()]
    dash = f"http://127.0.0.1:{ports['reporting']}/dashboard"
    ok, _ = ready(dash)
    rows.append(("dashboard", dash + ("" if ok else "   (not built yet: issue 7, second half)")))
    rows.append(("indicators (JSON)", f"http://127.0.0.1:{ports['reporting']}/v1/indicators"))
    if docs_port:
        rows.append(("AsyncAPI docs", f"http://127.0.0.1:{docs_port}/"))
    for observer in observers:
        if hasattr(observer, "query_url"):
            rows.append(("traces (Jaeger API)", f"{observer.query_url}/api/traces?service=surveys&limit=20"))
        else:
            rows.append(("metrics (Prometheus)", f"{observer.url}/alerts"))
    width = max(len(r[0]) for r in rows)
    line = "─" * (width + 60)
    return "\n".join([line, *(f"  {name:<{width}}  {url}" for name, url in rows), line])


# ---- main ---------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-demo", action="store_true", help="start the suite without the simulator")
    parser.add_argument("--scenario", default="full-year", choices=("full-year", "mid-year"))
    parser.add_argument("--seed", default="2025")
    parser.add_argument("--speed", default="max")
    parser.add_argument("--no-live", action="store_true", help="no heartbeats/duty operator after the scenario")
    parser.add_argument("--port-offset", type=int, default=0, help="ports 8000+N..8004+N (default 0)")
    parser.add_argument("--keep-infra", action="store_true", help="leave Kafka/PostgreSQL running on exit")
    parser.add_argument("--ready-timeout", type=float, default=180)
    parser.add_argument(
        "--observe",
        action="store_true",
        help="also start Jaeger (OTLP traces; query API :16686) and Prometheus (:9090, with the chart's rules)",
    )
    parser.add_argument("--exit-after-demo", action="store_true", help="stop everything once the demo is done")
    args = parser.parse_args(argv)

    t_start = time.monotonic()
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        # The first SIGTERM/SIGINT interrupts whatever runs (a start-up wait too); any later one, however soon
        # (a process group's SIGTERM reaches make and this process, and make passes it on; a second Ctrl-C),
        # changes nothing: raised in the handler or the clean-up it would cut the clean-up short.
        if stop_requested.is_set():
            return
        stop_requested.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ensure_installed()
    infra = Infra()
    children: dict[str, Child] = {}
    demo: Child | None = None
    docs: ThreadingHTTPServer | None = None
    observers: list[Any] = []
    code = 0
    try:
        infra.start()
        run_dir = state_dir() / "run"
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        values = load_or_create_secrets(run_dir / "secrets.env")
        ports = {svc: port + args.port_offset for svc, port in SERVICES.items()}
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("LSG_DEMO_")}
        base_env.update(infra.env)
        base_env.update({k: v for k, v in values.items() if not k.startswith("LSG_DEMO_")})
        base_env.update({"LSG_API_TOKENS": api_tokens(values), "LSG_HTTP_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
        if args.observe:
            base_env.update(start_observers(observers, run_dir, ports))
        t_services = time.monotonic()
        for svc, port in ports.items():
            env = dict(base_env, LSG_HTTP_PORT=str(port), LSG_DATABASE_URL=infra.env[f"LSG_{svc.upper()}_DATABASE_URL"])
            children[svc] = Child(svc, [str(BIN / f"lsg-{svc}"), "serve"], env, run_dir / "logs" / f"{svc}.log")
        say(f"started {', '.join(f'{s} (pid {c.proc.pid})' for s, c in children.items())}; logs in {run_dir / 'logs'}")
        wait_ready(children, ports, args.ready_timeout)
        now = time.monotonic()
        say(f"all four services ready in {now - t_services:.1f} s ({now - t_start:.1f} s since `make run` began)")
        docs = serve_asyncapi(ASYNCAPI_PORT + args.port_offset)
        if not args.no_demo:
            demo_env = dict(base_env, **{k: v for k, v in values.items() if k.startswith("LSG_DEMO_")})
            for svc, port in ports.items():
                demo_env[f"LSG_DEMO_{svc.upper()}_URL"] = f"http://127.0.0.1:{port}"
            argv_demo = [str(BIN / "lsg-demo"), "--scenario", args.scenario, "--seed", args.seed, "--speed", args.speed]
            if not args.no_live and not args.exit_after_demo:
                argv_demo.append("--live")
            say(f"simulator: {' '.join(argv_demo[1:])}")
            demo = Child("lsg-demo", argv_demo, demo_env, None)
        print(url_table(ports, ASYNCAPI_PORT + args.port_offset if docs else None, observers), flush=True)
        say("running; Ctrl-C stops everything")
        while not stop_requested.is_set():
            for svc, child in children.items():
                if not child.alive():
                    raise RuntimeError(f"{svc} exited ({child.proc.returncode}):\n{child.tail()}")
            if demo is not None and not demo.alive():
                rc = demo.proc.returncode
                say(f"simulator finished ({rc}) after {time.monotonic() - t_start:.1f} s in all")
                demo = None
                if rc:
                    code = rc
                if args.exit_after_demo:
                    break
            time.sleep(0.5)
    except KeyboardInterrupt:
        print(flush=True)
        say("stopping")
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        stop_requested.set()
        say(f"error: {exc}")
        code = 1
    finally:
        stop_requested.set()  # from here on a signal is ignored (on_signal): the clean-up runs to its end,
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # and then the exit too (Python's finalization would
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # put the default handlers back: killed by a late one)
        t_stop = time.monotonic()
        everyone = ([demo] if demo is not None else []) + list(children.values())
        for child in everyone:
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in everyone:
            say(f"{child.name}: {child.wait_or_kill(deadline)}")
        if docs is not None:
            docs.shutdown()
        for observer in observers:
            with contextlib.suppress(Exception):
                observer.stop()
        say(infra.stop_what_we_started(args.keep_infra))
        say(f"stopped in {time.monotonic() - t_stop:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
