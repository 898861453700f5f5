"""Fails when requirements.lock no longer matches the pyproject files.

Every dependency declared by a workspace member (and the root's dependency groups) must be pinned in the
lock at a version its specifier accepts, and every member must be in the lock. Run `make lock` to refresh.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]


def pinned() -> tuple[dict[str, str], set[str]]:
    pins: dict[str, str] = {}
    editable: set[str] = set()
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line.startswith("-e "):
            editable.add(line[3:].strip().removeprefix("./"))
        elif match := re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;\\]+)", line):
            pins[canonicalize_name(match.group(1))] = match.group(3)
    return pins, editable


def members() -> list[Path]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    out: list[Path] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        out += [p for p in sorted(ROOT.glob(pattern)) if (p / "pyproject.toml").exists()]
    return out


def main() -> int:
    pins, _ = pinned()
    problems: list[str] = []
    local_names: set[str] = set()
    projects = [ROOT, *members()]
    for path in members():
        data = tomllib.loads((path / "pyproject.toml").read_text())
        local_names.add(canonicalize_name(data["project"]["name"]))
    for path in projects:
        data = tomllib.loads((path / "pyproject.toml").read_text())
        reqs = list(data.get("project", {}).get("dependencies", []))
        for group in data.get("dependency-groups", {}).values():
            reqs += [r for r in group if isinstance(r, str)]
        for raw in reqs:
            req = Requirement(raw)
            name = canonicalize_name(req.name)
            if name in local_names:
                continue
            if req.marker is not None and not req.marker.evaluate():
                continue
            if name not in pins:
                problems.append(f"{path.relative_to(ROOT) or '.'}: {raw!r} is not pinned in requirements.lock")
            elif req.specifier and not req.specifier.contains(pins[name], prereleases=True):
                problems.append(f"{path.relative_to(ROOT) or '.'}: {raw!r} but the lock pins {name}=={pins[name]}")
    if problems:
        print("requirements.lock does not match the pyproject files (run `make lock`):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        return 1
    print(f"requirements.lock matches {len(projects)} pyproject files ({len(pins)} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
