"""Fixtures of the fault-injection suite (issue 9): a PRIVATE Kafka broker and PostgreSQL server, started
once per session on free ports in a fresh folder. Private because the scenarios stop and restart them and
because the reporting service counts every event on the topics."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from faults_harness import STARTED

from lsg_local.testing import PrivateInfra, private_infrastructure


@pytest.fixture(scope="session")
def private() -> Iterator[PrivateInfra]:
    base = Path(tempfile.mkdtemp(prefix="lsg-faults-"))
    with private_infrastructure(base, kafka_heap="512m") as infra:
        yield infra


@pytest.fixture(autouse=True)
def _no_service_left() -> Iterator[None]:
    """A scenario that fails half-way leaves no service running."""
    yield
    while STARTED:
        STARTED.pop().kill()
