"""Pytest fixtures on real infrastructure, shared by every test folder (registered in the root conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from lsg_local import testing
from lsg_shared.settings import KafkaSettings


@pytest.fixture(scope="session")
def infra() -> Iterator[testing.Infra]:
    """Kafka bootstrap address and an admin PostgreSQL DSN (see ``lsg_local.testing``)."""
    with testing.infrastructure() as found:
        yield found


@pytest.fixture(scope="session")
def kafka_bootstrap(infra: testing.Infra) -> str:
    return infra.kafka_bootstrap


@pytest.fixture
def kafka_settings(infra: testing.Infra) -> KafkaSettings:
    return infra.kafka_settings()


@pytest.fixture
async def database_url(infra: testing.Infra) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards."""
    dsn = await testing.create_database(infra.admin_dsn)
    try:
        yield dsn
    finally:
        await testing.drop_database(infra.admin_dsn, dsn)
