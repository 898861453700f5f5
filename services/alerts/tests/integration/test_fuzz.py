"""Random CAP documents (of every version: 1.2, 1.1, 1.0, an unknown namespace; with or without a junk
ds:Signature) and random bytes through both doors: never a 5xx, never a dead consumer.

Hypothesis generates the inputs (a sync ``@given`` run collects them), then they are sent to the running
service, so each input goes through the real HTTP stack, the real partner topic and the real database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lsg_alerts.domain import cap
from lsg_events import AlertRaised, topics
from lsg_events.partner import cap_time, kafka_headers, signed_headers
from lsg_events.partner import xml_elements as _xml_elems
from lsg_local.testing import collect, unique
from lsg_testkit.alerts import cap_json

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def draw(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    out: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        out.append(value)

    run()
    return out


def one_of_or_junk(values: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(values), st.text(max_size=12), st.integers(), st.none())


def cap_documents(device_id: str) -> st.SearchStrategy[tuple[str, bytes]]:
    times = st.one_of(st.just(cap_time()), st.text(max_size=30), st.just("2024-01-01T00:00:00Z"))
    area = st.fixed_dictionaries(
        {"areaDesc": st.text(max_size=20)},
        optional={"polygon": st.text(max_size=40), "circle": st.text(max_size=20), "altitude": st.text(max_size=5)},
    )
    info = st.fixed_dictionaries(
        {
            "category": st.one_of(one_of_or_junk(cap.CATEGORIES), st.lists(one_of_or_junk(cap.CATEGORIES), max_size=3)),
            "event": st.text(max_size=20),
            "urgency": one_of_or_junk(cap.URGENCIES),
            "severity": one_of_or_junk(cap.SEVERITIES),
            "certainty": one_of_or_junk(cap.CERTAINTIES),
        },
        optional={
            "expires": times,
            "parameter": st.lists(
                st.fixed_dictionaries(
                    {
                        "valueName": st.sampled_from([cap.DEVICE_PARAMETER, "x"]),
                        "value": st.sampled_from([device_id, "nope"]),
                    }
                ),
                max_size=2,
            ),
            "area": st.lists(area, max_size=2),
            "headline": st.text(max_size=30),
            "bogus": st.text(max_size=5),
        },
    )
    alert = st.fixed_dictionaries(
        {},
        optional={
            "identifier": st.one_of(st.uuids().map(str), st.text(max_size=15)),
            "sender": st.sampled_from(["fuzz@example.org", "has space", ""]),
            "sent": times,
            "status": one_of_or_junk(cap.STATUSES),
            "msgType": one_of_or_junk(cap.MSG_TYPES),
            "scope": one_of_or_junk(cap.SCOPES),
            "references": st.one_of(st.text(max_size=40), st.just(f"fuzz@example.org,x,{cap_time()}")),
            "password": st.text(max_size=8),  # CAP 1.0's
            "info": st.one_of(info, st.lists(info, max_size=2), st.text(max_size=5)),
        },
    )
    namespaces = st.sampled_from([cap.CAP_NS, cap.CAP11_NS, cap.CAP10_NS, "urn:oasis:names:tc:emergency:cap:9.9", ""])
    signatures = st.sampled_from(
        [
            "",
            f'<ds:Signature xmlns:ds="{cap.DSIG_NS}"><ds:SignedInfo/></ds:Signature>',
            f'<Signature xmlns="{cap.DSIG_NS}"/>',
        ]
    )

    def render(fmt: str, doc: dict[str, Any], ns: str, signature: str) -> tuple[str, bytes]:
        if fmt == "json":
            return "application/json", json.dumps({"alert": doc}).encode()
        inner = "".join(_xml_elems(k, v) for k, v in doc.items() if v is not None) + signature
        return "application/cap+xml", f'<alert xmlns="{ns}">{inner}</alert>'.encode("utf-8", "surrogatepass")

    return st.builds(render, st.sampled_from(["json", "xml"]), alert, namespaces, signatures)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
async def test_random_documents_never_5xx_nor_stop_the_consumer(make_settings, kafka_bootstrap, producer, h) -> None:
    async with h.started(make_settings(partner_rate_burst=100_000, partner_rate_per_s=10_000)) as client:
        partner, secret = await h.create_partner(client)
        device = await h.install_device(client, partner)
        documents = draw(cap_documents(device), 120)
        junk = draw(
            st.tuples(st.sampled_from(["application/json", "application/xml", "text/plain"]), st.binary(max_size=600)),
            80,
        )
        heartbeats = draw(
            st.dictionaries(
                st.sampled_from(["device_id", "partner_id", "sent_at", "battery_pct", "tamper"]),
                st.one_of(st.text(max_size=8), st.floats(), st.booleans(), st.just(device), st.just(partner)),
            ),
            40,
        )
        statuses: dict[int, int] = {}
        for content_type, body in documents + junk:
            for path in (f"/v1/partners/{partner}/alerts", "/v1/cap/validate"):
                r = await client.post(
                    path, content=body, headers=signed_headers(secret, body, content_type=content_type)
                )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code < 500, (path, body[:200], r.text)
            unsigned = await client.post(
                f"/v1/partners/{partner}/alerts", content=body, headers={"content-type": content_type}
            )
            assert unsigned.status_code in (401, 413, 415), unsigned.text
        for hb in heartbeats:
            body = json.dumps(hb, allow_nan=True).encode()
            r = await client.post(
                f"/v1/partners/{partner}/heartbeats", content=body, headers=signed_headers(secret, body)
            )
            assert r.status_code < 500, (body, r.text)
        assert statuses.get(422, 0) > 0
        assert statuses.get(200, 0) > 0

        key = device.encode()
        for content_type, body in documents + junk:
            await producer.send(
                topics.PARTNER_INPUT,
                body,
                key=key,
                headers=kafka_headers(partner, secret, body, content_type=content_type),
            )
            await producer.send(topics.PARTNER_INPUT, body, key=key, headers=[("x-lsg-partner", partner.encode())])
        for hb in heartbeats:
            body = json.dumps(hb, allow_nan=True).encode()
            await producer.send(
                topics.PARTNER_INPUT, body, key=key, headers=kafka_headers(partner, secret, body, kind="heartbeat")
            )
        marker = unique("after-fuzz")
        body = cap_json(identifier=marker, device_id=device)
        async with collect(kafka_bootstrap, topics.ALERTS) as events:
            # Same key, same partition: the marker is processed only after every fuzz record before it.
            await producer.send_and_wait(
                topics.PARTNER_INPUT, body, key=key, headers=kafka_headers(partner, secret, body)
            )
            await events.wait_for(
                lambda c: any(e.data.identifier == marker for e in c.events(AlertRaised.event_type)),  # type: ignore[attr-defined]
                90,
                "the consumer still raising alerts after the fuzz records",
            )
        assert (await client.get("/health/ready")).status_code == 200
