"""CAP 1.2 parsing and validation, both surface forms."""

from __future__ import annotations

import json

import pytest

from lsg_alerts.domain import cap
from lsg_testkit.alerts import cap_dict, cap_json, cap_xml, later, reference

pytestmark = pytest.mark.unit


def paths(body: bytes, content_type: str | None = None) -> dict[str, str]:
    return {e.path: e.message for e in cap.validate(body, content_type)}


@pytest.mark.parametrize("build", [cap_xml, cap_json])
def test_valid_alert_parses_in_both_forms(build) -> None:
    doc = cap.parse(build(identifier="A1", device_id="dev-1", expires=later(3600)))
    assert doc.identifier == "A1"
    assert doc.msg_type == "Alert"
    assert doc.device_id == "dev-1"
    assert doc.info[0].severity == "Extreme"
    assert doc.info[0].categories == ("Fire",)
    assert doc.area_desc == "Village"
    assert not doc.drill


def test_json_without_wrapper_and_single_values() -> None:
    alert = cap_dict(identifier="A2")["alert"]
    alert["info"] = alert["info"][0]
    alert["info"]["category"] = "Met"
    doc = cap.parse(json.dumps(alert).encode(), "application/json")
    assert doc.info[0].categories == ("Met",)


def test_required_fields_and_enumerations_are_named() -> None:
    alert = cap_dict(identifier="A3", severity="Apocalyptic")["alert"]
    del alert["sender"]
    alert["status"] = "Real"
    found = paths(json.dumps({"alert": alert}).encode())
    assert "alert.sender" in found
    assert "required" in found["alert.sender"]
    assert "alert.status" in found
    assert "Actual" in found["alert.status"]
    assert "alert.info[0].severity" in found


def test_invalid_enumeration_in_xml_is_reported_with_path() -> None:
    found = paths(cap_xml(identifier="A4", urgency="Soonish"), "application/cap+xml")
    assert list(found) == ["alert.info[0].urgency"]


def test_update_and_cancel_need_references() -> None:
    for msg_type in ("Update", "Cancel"):
        assert "alert.references" in paths(cap_json(identifier="A5", msg_type=msg_type))
    ok = cap_json(identifier="A6", msg_type="Cancel", references=reference("s", "A5", "2024-01-01T00:00:00+00:00"))
    assert paths(ok) == {}
    bad = paths(cap_json(identifier="A7", msg_type="Update", references="only-two,parts"))
    assert "alert.references[0]" in bad


def test_expires_must_follow_sent() -> None:
    found = paths(cap_json(identifier="A8", sent="2024-05-01T10:00:00+03:00", expires="2024-05-01T09:00:00+03:00"))
    assert "alert.info[0].expires" in found


def test_z_designator_and_bad_dates_are_refused() -> None:
    assert "alert.sent" in paths(cap_json(identifier="A9", sent="2024-05-01T10:00:00Z"))
    assert "alert.sent" in paths(cap_json(identifier="A9", sent="yesterday"))
    assert "alert.sent" in paths(cap_json(identifier="A9", sent="2024-02-30T10:00:00+00:00"))


def test_identifier_characters_and_scope_rules() -> None:
    found = paths(cap_json(identifier="has space", scope="Restricted"))
    assert "alert.identifier" in found
    assert "alert.restriction" in found


def test_unknown_and_repeated_elements() -> None:
    alert = cap_dict(identifier="B1")["alert"]
    alert["colour"] = "red"
    alert["sent"] = [alert["sent"], alert["sent"]]
    found = paths(json.dumps({"alert": alert}).encode())
    assert "alert.colour" in found
    assert "alert.sent" in found


def test_polygon_and_circle() -> None:
    alert = cap_dict(identifier="B2")["alert"]
    alert["info"][0]["area"][0]["polygon"] = ["56.0,27.0 56.1,27.1 56.2,27.0"]
    alert["info"][0]["area"][0]["circle"] = ["56.0,27.0 -1"]
    found = paths(json.dumps({"alert": alert}).encode())
    assert "alert.info[0].area[0].polygon[0]" in found
    assert "alert.info[0].area[0].circle[0]" in found


def test_xml_namespace_is_required() -> None:
    body = cap_xml(identifier="B3").replace(b'xmlns="urn:oasis:names:tc:emergency:cap:1.2"', b"")
    assert "alert" in paths(body, "application/xml")


def test_malformed_xml_is_malformed() -> None:
    with pytest.raises(cap.CapInvalid) as info:
        cap.parse(b"<alert><identifier>x</alert>", "application/xml")
    assert info.value.malformed


@pytest.mark.parametrize(
    "payload",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>',
        # external entity
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>',
        # external DTD (would be a network fetch)
        b'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://example.invalid/cap.dtd">'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
    ],
)
def test_dangerous_xml_is_refused(payload: bytes) -> None:
    with pytest.raises(cap.CapInvalid) as info:
        cap.parse(payload, "application/cap+xml")
    assert info.value.malformed
    assert "passwd" not in str(info.value)


def test_deep_json_does_not_crash() -> None:
    with pytest.raises(cap.CapInvalid):
        cap.parse(b"[" * 50_000, "application/json")


def test_drill_statuses() -> None:
    assert cap.parse(cap_json(identifier="C1", status="Exercise")).drill
    assert cap.parse(cap_json(identifier="C2", status="Test")).drill
    assert not cap.parse(cap_json(identifier="C3", status="Draft")).actionable
