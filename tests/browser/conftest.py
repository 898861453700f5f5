"""Browser-test fixtures: Debian's Chromium (installed with apt-get when missing), never a downloaded browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; installed as root with apt-get if missing. Skips only when the install fails."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("chromium is missing and this user may not run apt-get (not root, no sudo)")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [[*prefix, "apt-get", "update"], [*prefix, "apt-get", "install", "-y", "chromium"]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900, check=False)
        if done.returncode != 0 and step[-1] == "chromium":
            pytest.skip(f"apt-get install chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM
