"""LSG_KAFKA_BOOTSTRAP takes comma-separated servers, as its description says, and the clients get them as a list."""

from __future__ import annotations

import pytest

from lsg_shared.kafka import client_kwargs
from lsg_shared.settings import KafkaSettings

pytestmark = pytest.mark.unit


def test_comma_separated_bootstrap_reaches_the_clients_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    # FastStream hands a string to aiokafka as one host ("a:9092,b:9092" then fails to resolve): the three-broker
    # fault scenario needs every server named.
    monkeypatch.setenv("LSG_KAFKA_BOOTSTRAP", " kafka-0:9092, kafka-1:9092 ,kafka-2:9092,")
    settings = KafkaSettings()
    assert settings.servers == ["kafka-0:9092", "kafka-1:9092", "kafka-2:9092"]
    assert client_kwargs(settings)["bootstrap_servers"] == settings.servers


def test_one_server_is_a_list_of_one() -> None:
    assert KafkaSettings(bootstrap="127.0.0.1:29092").servers == ["127.0.0.1:29092"]
