"""Root pytest configuration: the real-infrastructure fixtures every test folder may use, and the guard that
keeps tests off the topics `make run` uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lsg_local.topic_guard import SharedTopicGuard

pytest_plugins = ["lsg_local.pytest_plugin"]


@pytest.fixture(autouse=True)
def _no_writes_to_the_shared_registry_topics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that publishes to a topic of the registry on `make run`'s broker fails: `make run`'s services
    consume those topics there, so they would count the test's events (issue 23: the browser test once fed
    thousands of them to `make run`'s reporting). Tests run on a broker of their own (the ``infra`` fixture's,
    ``$LSG_TEST_KAFKA_PORT``, 29992) or a private one; this guard catches code that falls back to the default
    bootstrap address. Producers in subprocesses are not seen; theirs are given the tests' broker."""
    from lsg_local.stack import LocalStack

    guard = SharedTopicGuard(LocalStack().kafka.bootstrap)
    guard.install(monkeypatch)
    yield
    if guard.hits:
        pytest.fail(
            f"published to the registry's topics on `make run`'s broker {LocalStack().kafka.bootstrap} "
            f"({guard.hits}): use the infra fixture's broker, unique topics or a private broker",
            pytrace=False,
        )
