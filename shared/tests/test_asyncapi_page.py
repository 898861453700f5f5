"""The server-rendered AsyncAPI page: channels, operations, payload fields with $ref resolved; nothing fetched
from another host; text escaped."""

from __future__ import annotations

import pytest

from lsg_shared.asyncapi_page import render

pytestmark = pytest.mark.unit

DOC = {
    "asyncapi": "3.0.0",
    "info": {"title": "alerts <svc>", "version": "1"},
    "channels": {
        "lsg.alerts.events.v1:raised": {
            "address": "lsg.alerts.events.v1",
            "description": "An alert was raised.",
            "messages": {"Message": {"$ref": "#/components/messages/raised"}},
        }
    },
    "operations": {"raised": {"action": "send", "channel": {"$ref": "#/channels/lsg.alerts.events.v1:raised"}}},
    "components": {
        "messages": {"raised": {"title": "alert.raised", "payload": {"$ref": "#/components/schemas/Raised"}}},
        "schemas": {
            "Raised": {
                "type": "object",
                "required": ["alert_id"],
                "properties": {
                    "alert_id": {"type": "string", "description": "The alert"},
                    "severity": {"enum": ["Extreme", "Severe"]},
                    "place": {"$ref": "#/components/schemas/Place"},
                },
            },
            "Place": {"type": "object", "properties": {"country": {"type": "string"}}},
        },
    },
}


def test_render_lists_channels_operations_and_fields() -> None:
    html = render(DOC)
    assert "<code>lsg.alerts.events.v1</code>" in html
    assert "publishes" in html
    for field in ("alert_id", "severity", "place", "place.country"):
        assert f">{field}</td>" in html
    assert "<code>Extreme</code>" in html
    assert "alerts &lt;svc&gt;" in html
    assert "<svc>" not in html


def test_render_fetches_nothing_from_elsewhere() -> None:
    html = render(DOC)
    assert "<script" not in html
    assert "http://" not in html
    assert "https://" not in html
