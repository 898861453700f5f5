"""The AsyncAPI document declares the Kafka headers of every message (issue 23): the CloudEvents binary-mode
`ce_*` headers and `content-type` of each event, and the partner signature headers of `lsg.partner.input.v1`,
which carries partners' own CAP documents and heartbeats, not CloudEvents."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lsg_events import ALL_EVENTS, topics
from lsg_shared.contracts import asyncapi_yaml

pytestmark = pytest.mark.unit


def _resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def test_every_message_declares_its_headers() -> None:
    doc = yaml.safe_load(asyncapi_yaml())
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    cloudevents = {f"{m.topic}:{m.event_type}:Message": m for m in ALL_EVENTS if m.topic != topics.PARTNER_INPUT}
    partner = {name for name in messages if name.startswith(topics.PARTNER_INPUT + ":")}
    assert set(messages) == set(cloudevents) | partner
    for name, message in messages.items():
        headers = message.get("headers")
        assert headers, name
        assert headers["type"] == "object", name
        props = headers["properties"]
        assert "content-type" in props, name
        if "correlationId" in message:  # it names a declared header
            location = message["correlationId"]["location"]
            assert location.removeprefix("$message.header#/") in props, (name, location)
        if name in cloudevents:
            model = cloudevents[name]
            for header in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "traceparent"):
                assert header in props, (name, header)
            assert {"ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"} <= set(headers["required"])
            assert props["ce_type"]["const"] == model.event_type
            assert props["content-type"]["const"] == "application/json"
        else:
            assert not any(h.startswith("ce_") for h in props), name
            assert {"x-lsg-partner", "x-lsg-timestamp", "x-lsg-signature"} <= set(headers["required"]), name
            assert "x-lsg-kind" in props, name


def test_partner_input_is_cap_documents_and_heartbeats() -> None:
    doc = yaml.safe_load(asyncapi_yaml())
    channels = [c for c in doc["channels"].values() if c["address"] == topics.PARTNER_INPUT]
    assert len(channels) == 1
    channel = channels[0]
    assert "not CloudEvents" in channel["description"]
    kinds = {}
    for ref in channel["messages"].values():
        message = _resolve(doc, ref["$ref"])
        kinds[message["headers"]["properties"]["x-lsg-kind"]["const"]] = message
    assert set(kinds) == {"alert", "heartbeat"}
    assert "application/cap+xml" in kinds["alert"]["headers"]["properties"]["content-type"]["enum"]
    operations = [o for o in doc["operations"].values() if o["channel"]["$ref"].endswith("/" + topics.PARTNER_INPUT)]
    assert [o["action"] for o in operations] == ["receive"]
    for operation in doc["operations"].values():  # every reference resolves
        _resolve(doc, operation["channel"]["$ref"])
        for ref in operation["messages"]:
            _resolve(doc, ref["$ref"].replace("~1", "/"))
