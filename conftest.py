"""Root pytest configuration: the real-infrastructure fixtures every test folder may use, and the guard that
keeps tests off the topics `make run` uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lsg_local.topic_guard import SharedTopicGuard

pytest_plugins = ["lsg_local.pytest_plugin"]

# Tests that still publish to the registry's topics on the shared broker, by path prefix: their services run
# in-process and publish to the registry's fixed topic names (the surveys/training/alerts outboxes, the alerts
# partner-topic tests), and no service can yet be told another topic name. Known, tracked (issue 23): they
# must move to a private broker or to a topic namespace. Nothing may be added to this list.
KNOWN_SHARED_TOPIC_WRITERS = (
    "services/surveys/tests/",
    "services/training/tests/",
    "services/alerts/tests/",
    "shared/tests/test_audit_integration.py",
    "tests/examples/",  # docs/partners.md's sandbox: lsg-alerts and the examples as subprocesses (not seen here)
)


@pytest.fixture(autouse=True)
def _no_writes_to_the_shared_registry_topics(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A test on the shared broker (the ``infra`` fixture) that publishes to a topic of the registry fails:
    `make run`'s services consume those topics on the same broker, so they would count the test's events
    (issue 23: the browser test once fed thousands of them to `make run`'s reporting). Tests publish to unique
    topics (``lsg_local.testing.unique``) or, when the code under test only knows the registry's names, to a
    private broker. Producers in subprocesses are not seen; theirs should be on private brokers anyway."""
    if "infra" not in request.fixturenames:
        yield
        return
    guard = SharedTopicGuard(request.getfixturevalue("infra").kafka_bootstrap)
    guard.install(monkeypatch)
    yield
    where = request.node.nodeid.replace("\\", "/")
    if guard.hits and not where.startswith(KNOWN_SHARED_TOPIC_WRITERS):
        pytest.fail(
            f"{request.node.nodeid} published to the registry's topics on the shared broker "
            f"{request.getfixturevalue('infra').kafka_bootstrap} ({guard.hits}), which `make run` consumes: "
            "use unique topics (lsg_local.testing.unique) or a private broker",
            pytrace=False,
        )
