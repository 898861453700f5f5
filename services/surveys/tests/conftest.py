"""Fixtures of the surveys tests: a running service on its own database (real PostgreSQL and Kafka)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lsg_local import testing

sys.path.insert(0, str(Path(__file__).parent))

from surveys_support import settings

from lsg_surveys.entrypoints.app import create_app


@pytest.fixture(scope="module")
async def module_db(infra: testing.Infra) -> AsyncIterator[str]:
    """One database for a module's tests (each test uses its own campaign ids)."""
    dsn = await testing.create_database(infra.admin_dsn)
    try:
        yield dsn
    finally:
        await testing.drop_database(infra.admin_dsn, dsn)


@pytest.fixture(scope="module")
async def client(module_db: str, infra: testing.Infra) -> AsyncIterator[Any]:
    app = create_app(settings(module_db, infra.kafka_bootstrap))
    async with testing.running_app(app) as http:
        await testing.wait_ready(http)
        yield http
