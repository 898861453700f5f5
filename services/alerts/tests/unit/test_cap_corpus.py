"""The CAP corpus (tests/data/cap/) through the validator, XML signatures, and the suite's own feed read back by
two independent readers (feedparser for the Atom, capparselib for the CAP entries)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import capparselib.parsers
import feedparser
import pytest

from lsg_alerts.domain import cap, publication, xmlsig
from lsg_testkit.alerts import cap_corpus, cap_corpus_expected, cap_xml

pytestmark = pytest.mark.unit

EXPECTED = cap_corpus_expected()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_document_comes_to_its_expected_outcome(name: str) -> None:
    expected = EXPECTED[name]
    body = cap_corpus(name, identifier=f"corpus-{name[:-4]}", device_id="dev-1")
    errors = cap.validate(body, "application/cap+xml")
    assert (not errors) is expected["valid"], errors
    if expected["valid"]:
        doc = cap.parse(body)
        assert doc.version == expected["version"]
        assert doc.device_id == "dev-1"
        # held as CAP 1.2: the normalised document passes the 1.2 validator when rendered again
        again = publication.cap_xml(doc.document)
        assert cap.validate(again, "application/cap+xml") == [], again
    else:
        assert sorted({e.path for e in errors}) == sorted(expected["paths"]), errors


def test_empty_optional_elements_are_accepted_and_required_ones_still_named() -> None:
    doc = cap.parse(cap_corpus("v12_empty_optionals.xml", identifier="E1", device_id="d"))
    assert doc.note == ""
    assert doc.info[0].parameter("zone") == ""
    body = cap_corpus("v12_empty_optionals.xml", identifier="", device_id="d")
    assert {e.path for e in cap.validate(body)} == {"alert.identifier"}


def test_cap_10_is_normalised_and_its_password_never_kept() -> None:
    doc = cap.parse(cap_corpus("v10_alert.xml", identifier="P1", device_id="dev-9"))
    assert doc.version == "1.0"
    assert doc.info[0].certainty == "Likely"  # 'Very Likely' of CAP 1.0
    assert doc.sent.utcoffset() == timedelta(0)  # the 'Z' CAP 1.0 allowed, as an offset
    assert "password" not in doc.document
    assert "never-stored" not in json.dumps(doc.document)
    assert doc.document["info"][0]["eventCode"] == [{"valueName": "SAME", "value": "FRW"}]


def test_cap_11_resource_without_mime_type_gets_one() -> None:
    doc = cap.parse(cap_corpus("v11_alert.xml", identifier="R1", device_id="d"))
    assert doc.document["info"][0]["resource"][0]["mimeType"] == "application/octet-stream"


def test_unknown_namespace_still_lists_the_real_faults() -> None:
    with pytest.raises(cap.CapInvalid) as info:
        cap.parse(cap_corpus("unknown_namespace_faulty.xml", identifier="N1"))
    assert info.value.version is None
    assert "not a CAP namespace" in info.value.errors[0].message
    assert any(e.path == "alert.info[0].severity" for e in info.value.errors)


def test_signed_document_is_accepted_and_verified(h) -> None:
    key, cert = h.new_certificate()
    signed = h.sign_cap(cap_corpus("v12_multilingual.xml", identifier="S1", device_id="d"), key, cert)
    doc = cap.parse(signed, "application/cap+xml")
    assert doc.signed
    assert xmlsig.verify(signed, [cert]) == xmlsig.load_certificate(cert).fingerprint
    tampered = signed.replace(b"Flood warning", b"All is well")
    assert cap.validate(tampered) == []
    with pytest.raises(xmlsig.SignatureRefused) as refused:
        xmlsig.verify(tampered, [cert])
    assert "does not verify" in refused.value.message
    _, other = h.new_certificate("someone else")
    with pytest.raises(xmlsig.SignatureRefused):
        xmlsig.verify(signed, [other])


def test_signature_must_close_the_alert(h) -> None:
    key, cert = h.new_certificate()
    signed = h.sign_cap(cap_xml(identifier="S2", device_id="d"), key, cert)
    start = signed.index(b"<ds:Signature")
    moved = signed[:start].replace(b"<info>", signed[start : signed.rindex(b"</alert>")] + b"<info>", 1)
    moved += b"</alert>"
    assert "alert.info" in {e.path for e in cap.validate(moved)}


def _public(alert_id: str, body: bytes, *, state: str = "raised", msg_type: str = "Alert") -> publication.PublicAlert:
    doc = cap.parse(body)
    at = datetime.now(UTC).replace(microsecond=0)
    return publication.PublicAlert(
        alert_id=alert_id,
        state=state,
        received_at=at,
        cancelled_at=at + timedelta(seconds=5) if state == "cancelled" else None,
        msg_type=msg_type,
        document=json.loads(json.dumps(doc.document)),
    )


def test_feed_is_read_back_by_feedparser_and_capparselib() -> None:
    alerts = [
        _public("0a1b2c3d-0000-4000-8000-000000000001", cap_corpus("v12_multilingual.xml", identifier="F1")),
        _public(
            "0a1b2c3d-0000-4000-8000-000000000002", cap_corpus("v11_alert.xml", identifier="F2"), msg_type="Update"
        ),
        _public(
            "0a1b2c3d-0000-4000-8000-000000000003", cap_corpus("v10_alert.xml", identifier="F3"), state="cancelled"
        ),
    ]
    body = publication.atom_feed(
        alerts, sender="alerts@lsg.example", base_url="http://lsg.test", title="t", generated_at=datetime.now(UTC)
    )
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    links = [
        [x.href for x in e.links if x.rel == "alternate" and x.type == "application/cap+xml"] for e in parsed.entries
    ]
    assert links == [[f"http://lsg.test/v1/cap/alerts/{a.alert_id}.xml"] for a in alerts]
    read = capparselib.parsers.CAPParser(body.decode()).as_dict()
    assert [str(a["cap_message_type"]) for a in read] == ["Alert", "Update", "Cancel"]
    assert [len(a["cap_info"]) for a in read] == [3, 1, 1]
    assert [str(i["cap_language"]) for i in read[0]["cap_info"]] == ["lv-LV", "ru-RU", "en-GB"]
    for alert in alerts:
        message = publication.cap_xml(publication.suite_message(alert, "alerts@lsg.example"))
        assert cap.validate(message) == [], message
    original = "alerts@lsg.example,lsg-0a1b2c3d-0000-4000-8000-000000000002,"
    assert str(read[1]["cap_references"]).startswith(original)
