"""Component tests of the HTTP API on a running service (real PostgreSQL; events read from the outbox)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from surveys_support import (
    ADMIN,
    EDITOR,
    EDITOR_RU,
    SETTLEMENTS,
    VIEWER,
    assert_no_personal_data,
    auth,
    loc,
    response_body,
    survey_body,
)

from lsg_local.testing import unique

pytestmark = [pytest.mark.component, pytest.mark.postgres]

PROBLEM = "application/problem+json"


async def open_survey(client: Any, **overrides: Any) -> str:
    cid = unique("svy")
    r = await client.post("/v1/campaigns", json=survey_body(cid, **overrides), headers=auth(ADMIN))
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    return cid


async def stored(client: Any, cid: str) -> int:
    r = await client.get(f"/v1/campaigns/{cid}")
    assert r.status_code == 200
    n: int = r.json()["responses"]
    return n


async def outbox(dsn: str, cid: str, event_type: str | None = None) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT event_type, value FROM lsg_outbox WHERE key = $1 AND ($2::text IS NULL OR event_type = $2) "
            "ORDER BY seq",
            cid.encode(),
            event_type,
        )
    finally:
        await conn.close()
    return [{"type": r["event_type"], "data": json.loads(bytes(r["value"]))} for r in rows]


def fields(response: Any) -> set[str]:
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    return {e["field"] for e in response.json().get("errors", [])}


async def test_openapi_is_served_and_versioned(client: Any) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    assert "/v1/campaigns/{campaign_id}/responses" in paths
    assert "/v1/campaigns/{campaign_id}/imports/kobo" in paths
    assert all(p.startswith(("/v1/", "/health", "/metrics", "/asyncapi")) for p in paths)


async def test_every_write_needs_a_token_and_the_right_role(client: Any) -> None:
    from lsg_surveys.entrypoints.routes import PUBLIC_READS, router

    for route in router.routes:
        for method in route.methods:  # type: ignore[attr-defined]
            key = f"{method} {route.path}"  # type: ignore[attr-defined]
            path = route.path.replace("{campaign_id}", "x").replace(  # type: ignore[attr-defined]
                "{response_id}", "00000000-0000-0000-0000-000000000000"
            )
            r = await client.request(method, path, json={})
            if key in PUBLIC_READS:
                assert r.status_code != 401, key
            else:
                assert r.status_code == 401, (key, r.status_code)
    body = survey_body(unique("svy"))
    assert (await client.post("/v1/campaigns", json=body, headers=auth(EDITOR))).status_code == 403
    assert (await client.post("/v1/campaigns", json=body, headers=auth("wrong"))).status_code == 401
    cid = await open_survey(client)
    r = await client.post(f"/v1/campaigns/{cid}/responses", json=response_body(1), headers=auth(VIEWER))
    assert r.status_code == 403
    r = await client.post(f"/v1/campaigns/{cid}/responses", json=response_body(1), headers=auth(EDITOR_RU))
    assert r.status_code == 403
    assert r.json()["type"].endswith("forbidden-scope")
    assert await stored(client, cid) == 0


async def test_campaign_lifecycle_and_events(client: Any, module_db: str) -> None:
    cid = unique("svy")
    r = await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))
    assert r.status_code == 201
    assert r.json()["status"] == "draft"
    assert r.json()["questions"][0]["label"]["ru"] == "Удовлетворённость диалогом"
    assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 409
    r = await client.post(f"/v1/campaigns/{cid}/responses", json=response_body(1), headers=auth(EDITOR))
    assert r.status_code == 422
    assert fields(r) == {"campaign_id"}
    for _ in range(2):  # opening twice is a no-op
        assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).json()["status"] == "open"
    assert (await client.get(f"/v1/campaigns/{cid}/results")).status_code == 409
    for i in range(4):
        r = await client.post(f"/v1/campaigns/{cid}/responses", json=response_body(i), headers=auth(EDITOR))
        assert r.status_code == 201, r.text
    for _ in range(2):  # closing twice publishes once
        assert (await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))).status_code == 200
    r = await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "status"
    events = await outbox(module_db, cid)
    assert [e["type"] for e in events] == [
        "lv.lsg.survey.opened.v1",
        *["lv.lsg.survey.response.recorded.v1"] * 4,
        "lv.lsg.survey.completed.v1",
    ]
    completed = events[-1]["data"]
    assert completed["respondents"] == 4
    assert (await client.get(f"/v1/campaigns/{cid}/results")).json() == completed
    listed = (await client.get("/v1/campaigns", params={"status": "closed", "limit": 500})).json()["items"]
    assert cid in {c["campaign_id"] for c in listed}


@pytest.mark.parametrize(
    ("change", "bad_fields"),
    [
        ({"wave": 0}, {"wave"}),
        ({"planned_end": "2026-01-01"}, {"planned_end"}),
        ({"questions": []}, {"questions"}),
        ({"kind": "focus_group"}, {"questions"}),
        ({"place": {"country": "EE"}}, {"place.country"}),
        ({"title": {"lv": "x", "en": "y"}}, {"title.ru"}),
        ({"mappings": {"kobo": {"questions": {"nope": "x"}}}}, {"mappings.kobo.questions.nope"}),
        ({"settlements": [{**SETTLEMENTS[0], "country": "RU"}]}, {"settlements[0]"}),
    ],
)
async def test_bad_campaigns_name_their_fields(client: Any, change: dict[str, Any], bad_fields: set[str]) -> None:
    r = await client.post("/v1/campaigns", json=survey_body(unique("svy"), **change), headers=auth(ADMIN))
    assert r.status_code == 422, r.text
    assert bad_fields <= fields(r)


@pytest.mark.parametrize(
    ("change", "bad_fields"),
    [
        ({"answers": {"q_dialogue": 6}}, {"answers.q_dialogue"}),
        ({"answers": {"q_dialogue": 3, "q_unknown": 1}}, {"answers.q_unknown"}),
        ({"answers": {"q_involvement": 3}}, {"answers.q_dialogue"}),
        (
            {"answers": {"q_dialogue": 3, "q_channel": "fax", "q_meetings": -1}},
            {"answers.q_channel", "answers.q_meetings"},
        ),
        ({"age": 300}, {"age"}),
        ({"age": 30, "age_band": "65+"}, {"age_band"}),
        ({"gender": "x"}, {"gender"}),
        ({"settlement": {"country": "RU"}}, {"settlement"}),
        ({"settlement_code": "nowhere"}, {"settlement_code"}),
        ({"submitted_at": "2026-03-01T10:00:00"}, {"submitted_at"}),
        ({"unexpected": 1}, {"unexpected"}),
        ({"respondent": {"name": "a\x00b"}}, {"respondent.name"}),
    ],
)
async def test_bad_responses_are_422_and_store_nothing(
    client: Any, change: dict[str, Any], bad_fields: set[str]
) -> None:
    cid = await open_survey(client)
    r = await client.post(f"/v1/campaigns/{cid}/responses", json=response_body(1, **change), headers=auth(EDITOR))
    assert r.status_code == 422, r.text
    assert bad_fields <= fields(r), r.text
    assert await stored(client, cid) == 0
    assert (await client.get("/health/live")).status_code == 200


async def test_malformed_huge_and_closed(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    url = f"/v1/campaigns/{cid}/responses"
    headers = {**auth(EDITOR), "content-type": "application/json"}
    r = await client.post(url, content=b'{"answers": {"q_dialogue": 3,', headers=headers)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith(PROBLEM)
    big = json.dumps(response_body(1, answers={"q_dialogue": 3, "q_comment": "x" * (5 * 1024 * 1024)}))
    r = await client.post(url, content=big.encode(), headers=headers)
    assert r.status_code == 413
    r = await client.post(url, content=b"[1, 2]", headers=headers)
    assert r.status_code == 422
    r = await client.post("/v1/campaigns/nope/responses", json=response_body(1), headers=auth(EDITOR))
    assert r.status_code == 404
    await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))
    r = await client.post(url, json=response_body(1), headers=auth(EDITOR))
    assert r.status_code == 422
    assert fields(r) == {"campaign_id"}
    assert await stored(client, cid) == 0
    assert [e["type"] for e in await outbox(module_db, cid)] == [
        "lv.lsg.survey.opened.v1",
        "lv.lsg.survey.completed.v1",
    ]
    assert (await client.get("/health/ready")).status_code == 200


async def test_resubmission_is_a_noop_and_an_edit_is_a_correction(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    url = f"/v1/campaigns/{cid}/responses"
    first = await client.post(url, json=response_body(1), headers=auth(EDITOR))
    assert first.status_code == 201
    again = await client.post(url, json=response_body(1, answers={"q_dialogue": 5}), headers=auth(EDITOR))
    assert again.status_code == 200
    assert again.json() == {"response_id": first.json()["response_id"], "status": "duplicate"}
    edit = response_body(1, submission_id="sub-1-v2", replaces="sub-1", answers={"q_dialogue": 5})
    r = await client.post(url, json=edit, headers=auth(EDITOR))
    assert r.status_code == 200
    assert r.json() == {"response_id": first.json()["response_id"], "status": "corrected"}
    assert (await client.post(url, json=edit, headers=auth(EDITOR))).json()["status"] == "duplicate"
    assert await stored(client, cid) == 1
    events = await outbox(module_db, cid)
    recorded, corrected = events[1]["data"], events[2]["data"]
    assert [e["type"] for e in events[1:]] == [
        "lv.lsg.survey.response.recorded.v1",
        "lv.lsg.survey.response.corrected.v1",
    ]
    assert corrected["response_id"] == recorded["response_id"]
    assert corrected["respondent_key"] == recorded["respondent_key"]
    assert corrected["answers"] == [
        {"question_id": "q_dialogue", "indicator": "satisfaction_dialogue", "value": 5, "choices": None, "number": None}
    ]
    r = await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))
    completed = (await outbox(module_db, cid, "lv.lsg.survey.completed.v1"))[0]["data"]
    assert completed["respondents"] == 1
    assert completed["questions"][0]["distribution"]["5"] == 1


async def test_batch_all_or_nothing_and_partial(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    url = f"/v1/campaigns/{cid}/responses/batch"
    rows = [response_body(i) for i in range(5)]
    rows[2] = response_body(2, answers={"q_dialogue": 9})
    rows[4] = "not an object"
    r = await client.post(url, json={"responses": rows}, headers=auth(EDITOR))
    assert r.status_code == 422
    assert fields(r) == {"responses[2].answers.q_dialogue", "responses[4]"}
    assert [row["row"] for row in r.json()["rows"]] == [2, 4]
    assert await stored(client, cid) == 0
    r = await client.post(url, params={"partial": "true"}, json={"responses": rows}, headers=auth(EDITOR))
    assert r.status_code == 201
    body = r.json()
    assert (body["recorded"], body["rejected"], body["duplicates"]) == (3, 2, 0)
    assert [row["status"] for row in body["rows"]] == ["recorded", "recorded", "rejected", "recorded", "rejected"]
    r = await client.post(url, params={"partial": "true"}, json={"responses": rows}, headers=auth(EDITOR))
    assert r.status_code == 200
    assert r.json()["duplicates"] == 3
    assert await stored(client, cid) == 3
    assert len(await outbox(module_db, cid, "lv.lsg.survey.response.recorded.v1")) == 3
    r = await client.post(url, json={"responses": [response_body(i) for i in range(1001)]}, headers=auth(EDITOR))
    assert r.status_code in (413, 422)


def kobo_export(n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "_id": i,
            "_uuid": f"{prefix}-{i}",
            "meta/instanceID": f"uuid:{prefix}-{i}",
            "_submission_time": "2026-03-05T10:00:00",
            "_xform_id_string": "aXf",
            "__version__": "v1",
            "group_resp/name": f"Иван Петров {i}",
            "group_resp/phone": f"+371 2000{i:04d}",
            "grp/q_dialogue": str(1 + i % 5),
            "grp/q_topics": "roads water",
            "grp/q_comment": f"Privāts komentārs {i}",
            "age": "44",
            "gender": "female",
            "settlement_code": SETTLEMENTS[i % 3]["settlement"]["code"],
        }
        for i in range(n)
    ]


async def test_kobo_import_dedupes_and_applies_edits(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    url = f"/v1/campaigns/{cid}/imports/kobo"
    export = kobo_export(5, cid)
    r = await client.post(url, json={"count": 5, "results": export}, headers=auth(EDITOR))
    assert r.status_code == 201, r.text
    assert r.json()["recorded"] == 5
    edit = {**export[0], "meta/instanceID": f"uuid:{cid}-0-v2", "meta/deprecatedID": f"uuid:{cid}-0"}
    edit["grp/q_dialogue"] = "5"
    r = await client.post(url, json=[*export[:2], edit], headers=auth(EDITOR))
    assert r.status_code == 200
    assert [row["status"] for row in r.json()["rows"]] == ["duplicate", "duplicate", "corrected"]
    types = [e["type"] for e in await outbox(module_db, cid)]
    assert types.count("lv.lsg.survey.response.recorded.v1") == 5
    assert types.count("lv.lsg.survey.response.corrected.v1") == 1
    response_id = r.json()["rows"][2]["response_id"]
    stored_row = (await client.get(f"/v1/campaigns/{cid}/responses/{response_id}", headers=auth(EDITOR))).json()
    assert stored_row["answers"]["q_dialogue"] == 5
    assert stored_row["respondent_name"] == "Иван Петров 0"
    assert stored_row["place"]["settlement"]["code"] == SETTLEMENTS[0]["settlement"]["code"]
    bad = [{**export[0], "_uuid": "new", "meta/instanceID": "uuid:new", "grp/q_dialogue": "7"}]
    r = await client.post(url, json=bad, headers=auth(EDITOR))
    assert r.status_code == 422
    assert fields(r) == {"rows[0].answers.q_dialogue"}
    r = await client.post(url, json={"oops": 1}, headers=auth(EDITOR))
    assert r.status_code == 422
    # An export may exceed the 1 MiB form limit (up to 8 MiB): 2 MiB of repeats is accepted, 9 MiB is not.
    big = [{**export[i % 5], "_attachments": "x" * 2000} for i in range(1000)]  # unmapped fields are ignored
    assert len(json.dumps(big)) > 2 * 1024 * 1024
    r = await client.post(url, json=big, headers=auth(EDITOR))
    assert r.status_code == 200, r.text[:300]
    assert r.json()["duplicates"] == 1000
    huge = b"[" + b" " * (9 * 1024 * 1024) + b"]"
    r = await client.post(url, content=huge, headers={**auth(EDITOR), "content-type": "application/json"})
    assert r.status_code == 413


async def test_odk_csv_import(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    url = f"/v1/campaigns/{cid}/imports/odk"
    head = "SubmissionDate,grp-q_dialogue,grp-q_channel,grp-q_comment,meta-instanceID,KEY,ReviewState\n"
    csv1 = head + (
        "2026-03-05T10:00:00.000Z,5,phone,Privāts komentārs,uuid:k1,uuid:k1,\n"
        "2026-03-05T11:00:00.000Z,2,meeting,,uuid:k2,uuid:k2,approved\n"
        "2026-03-05T12:00:00.000Z,1,online,,uuid:k3,uuid:k3,rejected\n"
    )
    r = await client.post(url, content=csv1.encode(), headers={**auth(EDITOR), "content-type": "text/csv"})
    assert r.status_code == 201, r.text
    assert (r.json()["recorded"], r.json()["skipped"]) == (2, 1)
    csv2 = head + "2026-03-06T10:00:00.000Z,4,phone,,uuid:k2-v2,uuid:k2,edited\n"
    r = await client.post(url, content=csv2.encode(), headers={**auth(EDITOR), "content-type": "text/csv"})
    assert r.json()["corrected"] == 1
    r = await client.post(url, content=csv1.encode(), headers={**auth(EDITOR), "content-type": "text/csv"})
    assert r.json()["duplicates"] == 2
    r = await client.post(url, content=b"\xff\xfe", headers={**auth(EDITOR), "content-type": "text/csv"})
    assert r.status_code == 422
    r = await client.post(url, content=csv1.encode(), headers={**auth(EDITOR), "content-type": "application/json"})
    assert r.status_code == 415
    assert await stored(client, cid) == 2


async def test_gatherings_emit_counts_not_texts(client: Any, module_db: str) -> None:
    cid = unique("fg")
    body = survey_body(cid, kind="focus_group", questions=[], target_size=40)
    assert (await client.post("/v1/campaigns", json=body, headers=auth(ADMIN))).status_code == 201
    meeting = {
        "gathering_id": f"{cid}-1",
        "held_on": "2026-03-10",
        "place": SETTLEMENTS[0],
        "participants": [
            {"role": "elder", "gender": "female", "count": 7},
            {"role": "resident", "gender": "male", "count": 14},
        ],
        "settlements_represented": SETTLEMENTS[:2],
        "problems": [{"text": "Nav ceļa ziemā", "language": "lv"}, {"text": "Нет связи", "language": "ru"}],
        "initiatives": [{"text": "Sirēna ciemā", "language": "lv"}],
    }
    url = f"/v1/campaigns/{cid}/gatherings"
    r = await client.post(url, json=meeting, headers=auth(EDITOR))
    assert r.status_code == 422  # still a draft
    await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))
    assert (await client.post(url, json=meeting, headers=auth(EDITOR))).status_code == 201
    assert (await client.post(url, json=meeting, headers=auth(EDITOR))).json()["status"] == "duplicate"
    r = await client.post(url, json={**meeting, "participants": [{"role": "boss", "count": -1}]}, headers=auth(EDITOR))
    assert {"participants.0.role", "participants.0.count"} <= fields(r)
    held = await outbox(module_db, cid, "lv.lsg.focus_group.held.v1")
    assert len(held) == 1
    data = held[0]["data"]
    assert (data["participants"], data["problems_raised"], data["initiatives_raised"]) == (21, 2, 1)
    assert len(data["settlements_represented"]) == 2
    assert_no_personal_data([json.dumps(data)], ("Nav ceļa", "Нет связи", "Sirēna"))
    listed = (await client.get(url, headers=auth(VIEWER))).json()
    assert listed[0]["problems"][1] == {"text": "Нет связи", "language": "ru"}
    survey = await open_survey(client)
    r = await client.post(
        f"/v1/campaigns/{survey}/gatherings", json=meeting | {"gathering_id": "g"}, headers=auth(EDITOR)
    )
    assert r.status_code == 422


async def test_erasure_keeps_published_aggregates(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    ids = []
    phone = f"+371 29{uuid.uuid4().int % 10**6:06d}"  # a person of this test only (erasure is programme-wide)
    for i in range(3):
        body = response_body(i, respondent={"name": f"Jānis Bērziņš {i}", "phone": phone if i == 1 else None})
        r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=auth(EDITOR))
        ids.append(r.json()["response_id"])
    await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))
    before = (await client.get(f"/v1/campaigns/{cid}/results")).json()
    r = await client.post("/v1/erasure-requests", json={"phone": phone}, headers=auth(EDITOR))
    assert r.status_code == 403
    r = await client.post("/v1/erasure-requests", json={"phone": phone.replace(" ", "")}, headers=auth(ADMIN))
    assert r.json() == {"erased_responses": 1}
    r = await client.post("/v1/erasure-requests", json={"response_ids": [ids[2], "nope"]}, headers=auth(ADMIN))
    assert fields(r) == {"response_ids[1]"}
    r = await client.post("/v1/erasure-requests", json={"response_ids": [ids[2]]}, headers=auth(ADMIN))
    assert r.json() == {"erased_responses": 1}
    erased = (await client.get(f"/v1/campaigns/{cid}/responses/{ids[1]}", headers=auth(EDITOR))).json()
    assert (erased["respondent_name"], erased["respondent_phone"], erased["free_text"]) == (None, None, None)
    assert erased["erased_at"] is not None
    assert erased["answers"]["q_dialogue"] == 2
    kept = (await client.get(f"/v1/campaigns/{cid}/responses/{ids[0]}", headers=auth(EDITOR))).json()
    assert kept["respondent_name"] == "Jānis Bērziņš 0"
    assert (await client.get(f"/v1/campaigns/{cid}/results")).json() == before


async def test_no_personal_data_in_any_emitted_event(client: Any, module_db: str) -> None:
    cid = await open_survey(client)
    for i in range(3):
        await client.post(f"/v1/campaigns/{cid}/responses", json=response_body(i), headers=auth(EDITOR))
    await client.post(f"/v1/campaigns/{cid}/imports/kobo", json=kobo_export(3, cid), headers=auth(EDITOR))
    edit = response_body(0, submission_id="sub-0-v2", replaces="sub-0")
    await client.post(f"/v1/campaigns/{cid}/responses", json=edit, headers=auth(EDITOR))
    await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))
    conn = await asyncpg.connect(module_db)
    try:
        rows = await conn.fetch("SELECT event_type, value, headers FROM lsg_outbox")
    finally:
        await conn.close()
    types = {r["event_type"] for r in rows}
    assert {"lv.lsg.survey.response.recorded.v1", "lv.lsg.survey.response.corrected.v1"} <= types
    assert_no_personal_data([bytes(r["value"]) for r in rows])
    assert_no_personal_data([json.dumps(r["headers"]) for r in rows])
    assert loc  # the labels are trilingual; names of places are not personal


async def test_concurrent_repeats_record_once(client: Any, module_db: str) -> None:
    import asyncio

    cid = await open_survey(client)
    url = f"/v1/campaigns/{cid}/responses"
    body = response_body(1)
    rows = [response_body(i, submission_id=f"b-{i % 5}") for i in range(20)]
    results = await asyncio.gather(
        *(client.post(url, json=body, headers=auth(EDITOR)) for _ in range(8)),
        *(client.post(f"{url}/batch", json={"responses": rows}, headers=auth(EDITOR)) for _ in range(3)),
    )
    singles, batches = results[:8], results[8:]
    assert sorted(r.status_code for r in singles) == [200] * 7 + [201]
    assert len({r.json()["response_id"] for r in singles}) == 1
    assert sum(r.json()["recorded"] for r in batches) == 5
    assert all(r.json()["duplicates"] + r.json()["recorded"] == 20 for r in batches)
    assert await stored(client, cid) == 6
    assert len(await outbox(module_db, cid, "lv.lsg.survey.response.recorded.v1")) == 6
