"""Bad input never gets a 500 (issue 23): each defect the API fuzz found on the alerts service, one request each.

- NUL in partner and device labels, a device's place names and a partner's device id list: 422 naming the field
  (it used to reach PostgreSQL and fail there);
- ``GET /v1/alerts``: NUL in the device id filter, an offset beyond PostgreSQL's bigint: 422;
- ``DELETE /v1/partners/{id}/secrets/{secret_id}``: a bodiless 204 (a JSON ``null`` body overran the
  Content-Length of a 204, logged as an unhandled error at every call);
- an oversize body: 413 ``too-large`` with ``errors[]``, whichever limit was hit (the partner document's 64 KiB
  or the service-wide 1 MiB; over 1 MiB it used to be ``payload-too-large`` without ``errors[]``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator

import pytest

from lsg_local.testing import unique
from lsg_testkit.alerts import settlement_place

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

NUL = "\u0000"


def fields(r) -> set[str]:  # type: ignore[no-untyped-def]
    return {e["field"] for e in r.json().get("errors", [])}


def label(text: str) -> dict[str, str]:
    return {"lv": text, "ru": text, "en": text}


async def test_nul_in_labels_places_and_device_lists_is_refused_naming_the_field(env, h) -> None:
    r = await env.client.post(
        "/v1/partners", json={"partner_id": unique("p"), "label": label(f"Vendor{NUL}")}, headers=h.AUTH_ADMIN
    )
    assert r.status_code == 422, r.text
    assert "label" in fields(r)

    device = {
        "device_id": unique("siren"),
        "kind": "siren",
        "place": settlement_place(),
        "partner_id": env.partner_id,
        "label": label(f"Siren{NUL}"),
    }
    r = await env.client.post("/v1/devices", json=device, headers=h.AUTH_EDITOR)
    assert r.status_code == 422, r.text
    assert "label" in fields(r)

    place = copy.deepcopy(settlement_place())
    place["settlement"]["name"]["en"] = f"Nirza{NUL}"
    r = await env.client.post("/v1/devices", json={**device, "label": None, "place": place}, headers=h.AUTH_EDITOR)
    assert r.status_code == 422, r.text
    assert "place" in fields(r)

    r = await env.client.put(
        f"/v1/partners/{env.partner_id}/devices",
        json={"device_ids": [env.device_id, f"siren{NUL}"]},
        headers=h.AUTH_ADMIN,
    )
    assert r.status_code == 422, r.text
    assert "device_ids" in fields(r)
    # Nothing was changed by the refusals: the partner still speaks for its own device only.
    r = await env.client.get(f"/v1/partners/{env.partner_id}", headers=h.AUTH_ADMIN)
    assert r.json()["device_ids"] == [env.device_id]


async def test_alert_list_refuses_nul_filters_and_unbounded_paging(env, h) -> None:
    for params, field in (
        ({"device_id": f"siren{NUL}"}, "query:device_id"),
        ({"offset": str(2**63)}, "query:offset"),
        ({"offset": str(10**30)}, "query:offset"),
        ({"limit": str(2**63)}, "query:limit"),
        ({"offset": "-1"}, "query:offset"),
    ):
        r = await env.client.get("/v1/alerts", params=params, headers=h.AUTH_VIEWER)
        assert r.status_code == 422, (params, r.text)
        assert field in fields(r), (params, r.text)
    r = await env.client.get("/v1/alerts", params={"offset": "1000", "limit": "500"}, headers=h.AUTH_VIEWER)
    assert r.status_code == 200, r.text


async def test_retiring_a_secret_answers_a_bodiless_204_and_logs_no_error(env, h, caplog) -> None:
    r = await env.client.post(f"/v1/partners/{env.partner_id}/secrets", headers=h.AUTH_ADMIN)
    assert r.status_code == 201, r.text
    secret_id = r.json()["secret_id"]
    with caplog.at_level(logging.WARNING):
        r = await env.client.delete(f"/v1/partners/{env.partner_id}/secrets/{secret_id}", headers=h.AUTH_ADMIN)
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers.get("content-length", "0") == "0"
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert not errors, [rec.getMessage() for rec in errors]


async def _chunks(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        piece = min(16_384, size - sent)
        sent += piece
        yield b"x" * piece


@pytest.mark.parametrize(
    ("path", "size", "chunked"),
    [
        ("/v1/partners/{partner}/alerts", 70_000, False),  # over the partner document's 64 KiB
        ("/v1/partners/{partner}/alerts", 1_500_000, False),  # over the service-wide 1 MiB too
        ("/v1/partners/{partner}/heartbeats", 1_500_000, False),
        ("/v1/cap/validate", 1_500_000, False),
        ("/v1/partners/{partner}/alerts", 200_000, True),  # no Content-Length: counted as it arrives
        ("/v1/partners/{partner}/alerts", 1_500_000, True),
        ("/v1/partners", 1_500_000, False),  # a staff route over the service-wide limit
        ("/v1/partners", 1_500_000, True),
    ],
)
async def test_an_oversize_body_gets_the_documented_problem_whichever_limit(env, h, path, size, chunked) -> None:
    url = path.format(partner=env.partner_id)
    headers = {"content-type": "application/json", **h.AUTH_ADMIN}
    content = _chunks(size) if chunked else b"x" * size
    r = await env.client.post(url, content=content, headers=headers)
    assert r.status_code == 413, r.text
    problem = r.json()
    assert problem["type"].endswith("/too-large"), problem
    assert problem["status"] == 413
    assert [e["field"] for e in problem["errors"]] == ["body"], problem
