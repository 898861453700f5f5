"""Where the repository, the Maven project for Kafka and the default state folder are."""

from __future__ import annotations

from pathlib import Path

_MARKER = Path("deploy") / "local" / "kafka" / "pom.xml"


def repo_root() -> Path:
    """The folder holding ``deploy/local/kafka/pom.xml``, found by walking up from this file; else cwd."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / _MARKER).is_file():
                return folder
    return Path.cwd().resolve()


def kafka_project_dir() -> Path:
    """``deploy/local/kafka``: the Maven project that resolves the broker's jars into ``target/lib``."""
    return repo_root() / _MARKER.parent
