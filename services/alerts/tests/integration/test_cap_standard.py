"""Issue 24 through the running service: the CAP corpus at both partner doors and the validator, signed CAP
against registered certificates (rotation, audit), and the public CAP feed read back by feedparser and
capparselib."""

from __future__ import annotations

import asyncio
import uuid

import capparselib.parsers
import feedparser
import pytest

from lsg_alerts.domain import cap
from lsg_events import AlertRaised, topics
from lsg_events.partner import kafka_headers, signed_headers
from lsg_local.testing import collect, unique
from lsg_shared import dlq
from lsg_testkit.alerts import cap_corpus, cap_corpus_expected, cap_json, cap_xml, reference

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

EXPECTED = cap_corpus_expected()
XML = "application/cap+xml"
DLQ = topics.dlq_topic(topics.PARTNER_INPUT)


def raised(events, ident: str) -> list[AlertRaised]:
    return [e.data for e in events.events(AlertRaised.event_type) if e.data.identifier == ident]  # type: ignore[misc]


def letters(events, ident: str) -> list:
    return [r for r in events.records if r.topic == DLQ and ident.encode() in (r.value or b"")]


async def post(env, body: bytes, content_type: str = XML):
    headers = signed_headers(env.secret, body, content_type=content_type)
    return await env.client.post(f"/v1/partners/{env.partner_id}/alerts", content=body, headers=headers)


async def test_corpus_at_the_validator_and_the_http_door(env, kafka_bootstrap) -> None:
    idents = {name: unique("corpus") for name in EXPECTED}
    async with collect(kafka_bootstrap, topics.ALERTS) as events:
        for name, expected in EXPECTED.items():
            body = cap_corpus(name, identifier=idents[name], device_id=env.device_id)
            v = (await env.client.post("/v1/cap/validate", content=body, headers={"content-type": XML})).json()
            assert v["valid"] is expected["valid"], (name, v)
            if not expected["valid"]:
                assert sorted({e["path"] for e in v["errors"]}) == sorted(expected["paths"]), (name, v)
            r = await post(env, body)
            assert r.status_code == expected["door"], (name, r.text)
            if r.status_code == 422:
                fields = {e["field"] for e in r.json()["errors"]}
                assert fields == set(expected["paths"]), (name, r.json())
        for name, expected in EXPECTED.items():
            if expected["valid"]:
                await events.wait_for(lambda c, i=idents[name]: raised(c, i), 30, f"alert.raised of {name}")
                found = raised(events, idents[name])
                assert found[0].cap_version == expected["version"], name


async def test_corpus_at_the_partner_topic(env, kafka_bootstrap, producer) -> None:
    idents = {name: unique("kcorpus") for name in EXPECTED}
    async with collect(kafka_bootstrap, topics.ALERTS, DLQ) as events:
        for name in EXPECTED:
            body = cap_corpus(name, identifier=idents[name], device_id=env.device_id)
            headers = kafka_headers(env.partner_id, env.secret, body, content_type=XML)
            await producer.send_and_wait(topics.PARTNER_INPUT, body, key=env.device_id.encode(), headers=headers)
        for name, expected in EXPECTED.items():
            ident = idents[name]
            if expected["valid"]:
                await events.wait_for(lambda c, i=ident: raised(c, i), 30, f"alert.raised of {name}")
                assert raised(events, ident)[0].cap_version == expected["version"]
            else:
                await events.wait_for(lambda c, i=ident: letters(c, i), 30, f"dead letter of {name}")
                [letter] = letters(events, ident)
                assert letter.headers[dlq.REASON] == "invalid-cap", name
                for path in expected["paths"]:
                    assert path in letter.headers[dlq.ERROR], (name, letter.headers)


async def test_signed_cap_against_registered_certificates(env, kafka_bootstrap, producer, h) -> None:
    key, cert = h.new_certificate()
    # Before any certificate: a signature in the document is accepted (not verified).
    signed = h.sign_cap(cap_corpus("v12_multilingual.xml", identifier=unique("s"), device_id=env.device_id), key, cert)
    assert (await post(env, signed)).status_code == 202
    r = await env.client.post(f"/v1/partners/{env.partner_id}/certificates", json={"pem": cert}, headers=h.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (
        await env.client.post(f"/v1/partners/{env.partner_id}/certificates", json={"pem": "nope"}, headers=h.AUTH_ADMIN)
    ).status_code == 422
    good = h.sign_cap(cap_corpus("v12_empty_optionals.xml", identifier=unique("s"), device_id=env.device_id), key, cert)
    assert (await post(env, good)).status_code == 202
    tampered = h.sign_cap(cap_xml(identifier=unique("s"), device_id=env.device_id), key, cert).replace(
        b"Extreme", b"Minor"
    )
    r = await post(env, tampered)
    assert r.status_code == 401, r.text
    assert r.json()["type"].endswith("bad-xml-signature"), r.text
    assert r.json()["errors"][0]["field"] == "alert.Signature"
    unsigned = cap_xml(identifier=unique("s"), device_id=env.device_id)
    r = await post(env, unsigned)
    assert r.status_code == 401, r.text
    assert r.json()["type"].endswith("xml-signature-required"), r.text
    r = await post(env, cap_json(identifier=unique("s"), device_id=env.device_id), "application/json")
    assert r.status_code == 401
    # The partner topic dead-letters the same refusal with its reason.
    ident = unique("ks")
    bad = h.sign_cap(cap_xml(identifier=ident, device_id=env.device_id), key, cert).replace(b"Extreme", b"Minor")
    async with collect(kafka_bootstrap, DLQ) as events:
        headers = kafka_headers(env.partner_id, env.secret, bad, content_type=XML)
        await producer.send_and_wait(topics.PARTNER_INPUT, bad, key=env.device_id.encode(), headers=headers)
        await events.wait_for(lambda c: letters(c, ident), 30, "signature dead letter")
        [letter] = letters(events, ident)
        assert letter.headers[dlq.REASON] == "bad-xml-signature"
    # Rotation: two more certificates retire the first; a document signed with it is then refused.
    key2, cert2 = h.new_certificate("second")
    _, cert3 = h.new_certificate("third")
    for pem in (cert2, cert3):
        r = await env.client.post(
            f"/v1/partners/{env.partner_id}/certificates", json={"pem": pem}, headers=h.AUTH_ADMIN
        )
        assert r.status_code == 201, r.text
    info = (await env.client.get(f"/v1/partners/{env.partner_id}", headers=h.AUTH_ADMIN)).json()
    assert first["certificate_id"] not in {c["certificate_id"] for c in info["certificates"]}
    assert len(info["certificates"]) == 2
    await asyncio.sleep(5.1)  # the doors' credential cache
    old = h.sign_cap(cap_xml(identifier=unique("s"), device_id=env.device_id), key, cert)
    assert (await post(env, old)).status_code == 401
    new = h.sign_cap(cap_xml(identifier=unique("s"), device_id=env.device_id), key2, cert2)
    assert (await post(env, new)).status_code == 202
    for c in info["certificates"]:
        r = await env.client.delete(
            f"/v1/partners/{env.partner_id}/certificates/{c['certificate_id']}", headers=h.AUTH_ADMIN
        )
        assert r.status_code == 204
    assert (await post(env, cap_xml(identifier=unique("s"), device_id=env.device_id))).status_code == 202
    r = await env.client.get("/v1/audit", params={"action": "partner.certificate_*"}, headers=h.AUTH_ADMIN)
    if r.status_code == 200:
        actions = [row["action"] for row in r.json()["items"] if row["resource"].get("partner_id") == env.partner_id]
        assert actions.count("partner.certificate_added") == 3 or not actions, actions


async def test_public_feed(env, h) -> None:
    assert (await env.client.get("/v1/cap/feed.atom")).status_code == 200  # open, no token
    r = await env.client.put(f"/v1/partners/{env.partner_id}/publication", json={"publish": True}, headers=h.AUTH_ADMIN)
    assert r.status_code == 200
    assert r.json()["publish"] is True
    public = unique("pub")
    r = await post(env, cap_corpus("v12_multilingual.xml", identifier=public, device_id=env.device_id))
    public_id = r.json()["alert_id"]
    v11 = unique("pub11")
    v11_id = (await post(env, cap_corpus("v11_alert.xml", identifier=v11, device_id=env.device_id))).json()["alert_id"]
    drill = await post(env, cap_xml(identifier=unique("drill"), device_id=env.device_id, status="Exercise"))
    private = cap_xml(identifier=unique("priv"), device_id=env.device_id).replace(
        b"<scope>Public</scope>", b"<scope>Private</scope><addresses>duty</addresses>"
    )
    private_id = (await post(env, private)).json()["alert_id"]
    expired = unique("exp")
    sent_body = cap_corpus("v12_empty_optionals.xml", identifier=expired, device_id=env.device_id, expires_in_s=2)
    expired_id = (await post(env, sent_body)).json()["alert_id"]
    # An update of the 1.1 alert, then a cancel: the feed carries them as the suite's Update / Cancel.
    original = cap.parse(cap_corpus("v11_alert.xml", identifier=v11, device_id=env.device_id))
    ref = reference(original.sender, v11, original.sent.isoformat())
    upd = cap_xml(
        identifier=unique("upd"), msg_type="Update", references=ref, device_id=env.device_id, severity="Minor"
    )
    assert (await post(env, upd)).status_code == 202
    await asyncio.sleep(2.5)

    r = await env.client.get("/v1/cap/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    assert "max-age" in r.headers["cache-control"]
    etag = r.headers["etag"]
    assert (await env.client.get("/v1/cap/feed.atom", headers={"if-none-match": etag})).status_code == 304
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.bozo_exception
    hrefs = {x.href.rsplit("/", 1)[-1] for e in parsed.entries for x in e.links if x.rel == "alternate"}
    assert f"{public_id}.xml" in hrefs
    assert f"{v11_id}.xml" in hrefs
    for absent in (private_id, expired_id, drill.json().get("alert_id")):
        assert f"{absent}.xml" not in hrefs
    read = capparselib.parsers.CAPParser(r.text).as_dict()
    assert len(read) == len(parsed.entries)
    mine = {str(a["cap_id"]): a for a in read}
    assert len(mine[f"lsg-{public_id}"]["cap_info"]) == 3  # lv, ru, en kept
    updates = [a for a in read if str(a["cap_id"]).startswith(f"lsg-{v11_id}-")]
    assert [str(a["cap_message_type"]) for a in updates] == ["Update"]
    for entry_href in (f"/v1/cap/alerts/{public_id}.xml", f"/v1/cap/alerts/{v11_id}.xml"):
        doc = await env.client.get(entry_href)
        assert doc.status_code == 200
        assert doc.headers["content-type"].startswith("application/cap+xml")
        assert cap.validate(doc.content, XML) == [], doc.text
    assert (await env.client.get(f"/v1/cap/alerts/{private_id}.xml")).status_code == 404
    assert (await env.client.get(f"/v1/cap/alerts/{uuid.uuid4()}.xml")).status_code == 404

    cancel_ref = reference(original.sender, v11, original.sent.isoformat())
    cancel = cap_xml(identifier=unique("can"), msg_type="Cancel", references=cancel_ref, device_id=env.device_id)
    assert (await post(env, cancel)).status_code == 202
    again = await env.client.get("/v1/cap/feed.atom", headers={"if-none-match": etag})
    assert again.status_code == 200
    assert again.headers["etag"] != etag
    cancelled = await env.client.get(f"/v1/cap/alerts/{v11_id}.xml")
    message = cap.parse(cancelled.content, XML)
    assert message.msg_type == "Cancel"
    assert message.references[0].identifier == f"lsg-{v11_id}"
