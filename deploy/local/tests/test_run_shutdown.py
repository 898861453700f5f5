"""`make run` (deploy/local/scripts/run.py) stops cleanly under repeated signals (issue 23).

A process group's SIGTERM reaches make and run.py, and make passes it on: run.py gets two SIGTERMs in a row. The
second one must not interrupt the clean-up (it raised KeyboardInterrupt in `except`/`finally`, with a traceback,
leaving whatever `make run` had started). The test starts run.py --no-demo on a port offset against the test
infrastructure (as external infrastructure: four fresh databases; no consumer group or topic of `make run`'s is
touched), then sends SIGTERM with a SIGINT at once and a stream of SIGTERMs after them: two SIGTERMs close
together are often merged into one before Python sees them; two different signals are not.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lsg_local import testing

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]
RUN = ROOT / "deploy" / "local" / "scripts" / "run.py"
SERVICES = ("surveys", "training", "alerts", "reporting")


def _free_offset() -> int:
    """A port offset N with 8000+N..8004+N free."""
    for _ in range(50):
        offset = int.from_bytes(os.urandom(2), "big") % 20000 + 20000
        try:
            for port in range(8000 + offset, 8005 + offset):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return offset
        except OSError:
            continue
    raise AssertionError("no free port range")


@pytest.fixture
async def databases(infra: testing.Infra) -> AsyncIterator[dict[str, str]]:
    dsns = {svc: await testing.create_database(infra.admin_dsn) for svc in SERVICES}
    try:
        yield dsns
    finally:
        for dsn in dsns.values():
            await testing.drop_database(infra.admin_dsn, dsn)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[-1][:1] != "Z"


def test_repeated_sigterm_stops_cleanly(infra: testing.Infra, databases: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_", "OTEL_"))}
    env.update(
        {
            "LSG_LOCAL_DIR": str(tmp_path),  # secrets and logs of this run only
            "LSG_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "LSG_KAFKA_TOPIC_REPLICATION_FACTOR": "1",
            **{f"LSG_{svc.upper()}_DATABASE_URL": dsn for svc, dsn in databases.items()},
            "LSG_CONSUME": "false",  # reporting: no consumer (its default group is `make run`'s)
            "LSG_PUBLISH_FIGURES": "false",
            "LSG_PARTNER_GROUP_ID": testing.unique("run-shutdown-partner"),
            "OTEL_SDK_DISABLED": "true",
        }
    )
    offset = _free_offset()
    proc = subprocess.Popen(
        [sys.executable, str(RUN), "--no-demo", "--port-offset", str(offset), "--ready-timeout", "45"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "running; Ctrl-C stops everything" in line:
                break
        output = "".join(lines)
        assert "running;" in output, output
        pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", output)]
        assert len(pids) == 4, output

        # SIGTERM and at once SIGINT (a Ctrl-C to the terminal's process group, or make passing it on): both are
        # pending when the first handler runs, so the second one surely lands in the shutdown; then a stream of
        # SIGTERMs over the shutdown's first second and a half.
        os.kill(proc.pid, signal.SIGTERM)
        os.kill(proc.pid, signal.SIGINT)
        end = time.monotonic() + 1.5
        while time.monotonic() < end and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            time.sleep(0.0005)
        rest, _ = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = "".join(lines) + rest
    print(output)
    assert "Traceback" not in output, output
    assert "KeyboardInterrupt" not in output, output
    assert proc.returncode == 0, output
    assert "make run: stopped in" in output, output
    for svc in SERVICES:
        assert re.search(rf"make run: {svc}: exited", output), output
    assert not [pid for pid in pids if _alive(pid)], output
