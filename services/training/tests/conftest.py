"""Fixtures of the training service's tests: a running service on real Kafka and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import training_support as ts

from lsg_local.testing import running_app, wait_ready
from lsg_training.entrypoints.app import create_app


@pytest.fixture
async def client(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Any]:
    """The service, started in-process on a fresh database and the shared broker, ready."""
    app = create_app(ts.settings(database_url, kafka_bootstrap))
    async with running_app(app) as http:
        await wait_ready(http)
        yield http
