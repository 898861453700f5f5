"""Bad input never gets a 500 (issue 23): text PostgreSQL cannot store and out-of-range paging are 422 problems
naming the field, on every route of the service, the shared audit log's included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from surveys_support import ADMIN, EDITOR, auth, response_body, survey_body

from lsg_local.testing import unique

pytestmark = [pytest.mark.component, pytest.mark.postgres]

PROBLEM = "application/problem+json"


def refused(r: Any, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM)
    assert field in {e["field"] for e in r.json()["errors"]}, r.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=POST%20%2Fv1%00", "query:action"),
        ("subject=ad%00min", "query:subject"),
        ("action=%ED%A0%80", "query:action"),  # an unpaired surrogate (CESU-8 bytes): not UTF-8
    ],
)
async def test_audit_filters_refuse_text_postgresql_cannot_store(client: Any, query: str, field: str) -> None:
    r = await client.get(f"/v1/audit?{query}", headers=auth(ADMIN))
    refused(r, field)
    assert (await client.get("/v1/audit?action=POST%20%2Fv1*", headers=auth(ADMIN))).status_code == 200


async def test_a_nul_in_a_campaign_id_is_422_not_a_database_error(client: Any) -> None:
    for method, path in (
        ("GET", "/v1/campaigns/a%00b"),
        ("GET", "/v1/campaigns/a%00b/results"),
        ("POST", "/v1/campaigns/a%00b/open"),
    ):
        refused(await client.request(method, path, headers=auth(ADMIN)), "path")


@pytest.mark.parametrize(
    "query", ["offset=9223372036854775808", "offset=-1", "limit=9223372036854775808", "limit=0", "limit=501"]
)
async def test_paging_out_of_range_is_422(client: Any, query: str) -> None:
    r = await client.get(f"/v1/campaigns?{query}")
    refused(r, f"query:{query.split('=')[0]}")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"answers": {"q_dialogue": 3, "q_comment": "a\x00b"}}, "answers.q_comment"),
        ({"answers": {"q_dialogue": 3, "q_comment": "\ud800"}}, "answers.q_comment"),
        ({"answers": {"q_dialogue": 3, "q_topics": ["roads", "\x00"]}}, "answers.q_topics"),
        ({"respondent": {"phone": "\udfff"}}, "respondent.phone"),
        ({"settlement_code": "08\x00"}, "settlement_code"),
    ],
)
async def test_bad_text_in_a_response_names_its_field(client: Any, change: dict[str, Any], field: str) -> None:
    cid = unique("svy")
    assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
    assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
    body = response_body(1, **change)
    content = json.dumps(body).encode()  # \u escapes: the lone surrogate travels as JSON allows
    r = await client.post(
        f"/v1/campaigns/{cid}/responses", content=content, headers={**auth(EDITOR), "content-type": "application/json"}
    )
    refused(r, field)
    assert (await client.get(f"/v1/campaigns/{cid}")).json()["responses"] == 0


async def test_a_bad_row_of_a_partial_batch_is_reported_and_the_others_stored(client: Any) -> None:
    cid = unique("svy")
    assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
    assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
    rows = [response_body(1), response_body(2, respondent={"name": "\ud800"}), response_body(3)]
    content = json.dumps({"responses": rows}).encode()
    r = await client.post(
        f"/v1/campaigns/{cid}/responses/batch?partial=true",
        content=content,
        headers={**auth(EDITOR), "content-type": "application/json"},
    )
    assert r.status_code == 201, r.text
    result = r.json()
    assert (result["recorded"], result["rejected"]) == (2, 1)
    assert [e["field"] for e in result["rows"][1]["errors"]] == ["responses[1].respondent.name"]


async def test_an_import_row_echoing_a_lone_surrogate_is_reported_not_a_500(client: Any) -> None:
    cid = unique("svy")
    assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
    assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
    good = {"meta/instanceID": f"uuid:{cid}-1", "q_dialogue": "4", "gender": "female"}
    bad = {"meta/instanceID": f"uuid:{cid}-2", "q_dialogue": "4", "gender": "\ud800"}
    for partial, status in (("true", 201), ("false", 422)):
        r = await client.post(
            f"/v1/campaigns/{cid}/imports/kobo?partial={partial}",
            content=json.dumps([good, bad]).encode(),
            headers={**auth(EDITOR), "content-type": "application/json"},
        )
        assert r.status_code == status, r.text
        bad_row = r.json()["rows"][-1]  # the 422 lists the rejected rows only
        assert (bad_row["row"], bad_row["status"]) == (1, "rejected")
        assert bad_row["errors"][0]["field"] == "rows[1].gender"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "+371\x00"}, "phone"),
        ({"name": "Jānis\ud800", "settlement_code": "0801101"}, "name"),
        ({"response_ids": ["00000000-0000-0000-0000-000000000000", "a\x00"]}, "response_ids.1"),
    ],
)
async def test_erasure_requests_refuse_bad_text_naming_the_field(client: Any, body: dict[str, Any], field: str) -> None:
    r = await client.post(
        "/v1/erasure-requests",
        content=json.dumps(body).encode(),
        headers={**auth(ADMIN), "content-type": "application/json"},
    )
    refused(r, field)


async def test_a_meeting_with_bad_text_is_refused_naming_the_field(client: Any) -> None:
    cid = unique("fg")
    body = survey_body(cid, kind="focus_group", questions=[])
    assert (await client.post("/v1/campaigns", json=body, headers=auth(ADMIN))).status_code == 201
    assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
    meeting = {
        "held_on": "2026-03-10",
        "participants": [{"role": "resident", "gender": "female", "count": 3}],
        "problems": [{"text": "roads\x00", "language": "lv"}],
    }
    r = await client.post(
        f"/v1/campaigns/{cid}/gatherings",
        content=json.dumps(meeting).encode(),
        headers={**auth(EDITOR), "content-type": "application/json"},
    )
    refused(r, "problems.0.text")
