"""Mailpit for tests and local runs: a real SMTP server whose HTTP API reads back what it received.

Built from the Go module proxy at a pinned release (deploy/observe/install-mailpit.sh, cached in .cache/bin),
started on free loopback ports with its messages in a folder of the caller's. ``stop()`` and ``start()`` again
(same ports) let a test take the SMTP server away for a while.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsg_local._paths import repo_root


class MailpitError(RuntimeError):
    """Mailpit could not be built or started."""


def mailpit_binary() -> Path:
    """Build Mailpit once (minutes, cold) and return the cached binary."""
    script = repo_root() / "deploy" / "observe" / "install-mailpit.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    binary = repo_root() / ".cache" / "bin" / "mailpit"
    if done.returncode != 0 or not binary.exists():
        raise MailpitError(f"building mailpit failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mailpit:
    """One Mailpit process: SMTP on ``smtp_port``, the HTTP API on ``http_port`` (both loopback)."""

    data_dir: Path
    smtp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    binary: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/api/v1"

    def start(self, timeout: float = 30) -> Mailpit:
        binary = self.binary or mailpit_binary()
        self.binary = binary
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "mailpit.log"
        self.proc = subprocess.Popen(
            [
                str(binary),
                "--listen",
                f"127.0.0.1:{self.http_port}",
                "--smtp",
                f"127.0.0.1:{self.smtp_port}",
                "--database",
                str(self.data_dir / "mailpit.db"),
                "--smtp-auth-accept-any",
                "--smtp-auth-allow-insecure",
                "--disable-version-check",
                "--quiet",
            ],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise MailpitError(f"mailpit exited ({self.proc.returncode}):\n{tail}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self._get("/info")
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1):
                    return self
            time.sleep(0.1)
        raise MailpitError(f"mailpit did not answer on {self.http_port}/{self.smtp_port} within {timeout:.0f} s")

    def stop(self, timeout: float = 10) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api + path, timeout=5) as response:  # noqa: S310 (loopback)
            return json.loads(response.read() or b"null")

    def messages(self) -> list[dict[str, Any]]:
        """Summaries of every message received, newest first (``/api/v1/messages``)."""
        found: list[dict[str, Any]] = self._get("/messages?limit=500")["messages"]
        return found

    def message(self, message_id: str) -> dict[str, Any]:
        """One message with its text and HTML bodies (``/api/v1/message/{ID}``)."""
        found: dict[str, Any] = self._get(f"/message/{message_id}")
        return found

    def clear(self) -> None:
        req = urllib.request.Request(self.api + "/messages", method="DELETE")  # noqa: S310
        with urllib.request.urlopen(req, timeout=5):  # noqa: S310 (loopback)
            pass
