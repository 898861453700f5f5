"""End to end on real Kafka and PostgreSQL: 250 API responses plus a Kobo import, then the close.

The Kobo export has 21 rows: 17 new submissions, 3 repeats of submissions already stored (two sent earlier
through the API, one repeated inside the file) and 1 edit of an API response. So 250 + 17 = 267 respondents,
and the repeats must produce no event at all.
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import pytest
from surveys_support import (
    ADMIN,
    EDITOR,
    QUESTIONS,
    SETTLEMENTS,
    assert_no_personal_data,
    auth,
    response_body,
    settings,
    survey_body,
)

from lsg_events import topics
from lsg_events.surveys import SurveyCompleted
from lsg_local import testing
from lsg_surveys.entrypoints.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

RECORDED = "lv.lsg.survey.response.recorded.v1"
CORRECTED = "lv.lsg.survey.response.corrected.v1"
COMPLETED = "lv.lsg.survey.completed.v1"


def kobo_row(cid: str, uuid: str, i: int) -> dict[str, Any]:
    return {
        "_id": 1000 + i,
        "_uuid": uuid,
        "meta/instanceID": f"uuid:{uuid}",
        "_submission_time": "2026-03-20T09:30:00",
        "_submitted_by": "enumerator7",
        "_xform_id_string": "aSurvey1",
        "__version__": "vA",
        "formhub/uuid": "fh",
        "group_resp/name": f"Иван Петров {i}",
        "group_resp/phone": f"+371 2999{i:04d}",
        "grp/q_dialogue": str(1 + (i * 2) % 5),
        "grp/q_involvement": str(1 + i % 5),
        "grp/q_channel": ["meeting", "phone", "online"][i % 3],
        "grp/q_topics": ["roads", "water safety", "roads safety"][i % 3],
        "grp/q_meetings": str(i % 4),
        "grp/q_comment": f"Privāts komentārs Kobo {i}",
        "age": str(20 + (i * 3) % 60),
        "gender": ["female", "male"][i % 2],
        "settlement_code": SETTLEMENTS[i % 3]["settlement"]["code"],
    }


def closed_from_api(body: dict[str, Any]) -> dict[str, Any]:
    a = body["answers"]
    return {k: a[k] for k in ("q_dialogue", "q_involvement", "q_channel", "q_topics", "q_meetings")}


def closed_from_kobo(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "q_dialogue": int(row["grp/q_dialogue"]),
        "q_involvement": int(row["grp/q_involvement"]),
        "q_channel": row["grp/q_channel"],
        "q_topics": row["grp/q_topics"].split(),
        "q_meetings": float(row["grp/q_meetings"]),
    }


def expected_aggregates(final: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The aggregates computed directly from what was sent (independently of the service's code)."""
    out: dict[str, dict[str, Any]] = {}
    for qid in ("q_dialogue", "q_involvement"):
        values = [r[qid] for r in final]
        out[qid] = {
            "n": len(values),
            "mean": round(statistics.fmean(values), 4),
            "distribution": {str(v): values.count(v) for v in range(1, 6)},
            "top2_box": sum(v >= 4 for v in values),
        }
    channels = [r["q_channel"] for r in final]
    out["q_channel"] = {
        "n": len(channels),
        "distribution": {c: channels.count(c) for c in ("meeting", "phone", "online")},
    }
    topic_lists = [r["q_topics"] for r in final]
    out["q_topics"] = {
        "n": len(topic_lists),
        "distribution": {t: sum(t in ts for ts in topic_lists) for t in ("roads", "water", "safety")},
    }
    meetings = [float(r["q_meetings"]) for r in final]
    out["q_meetings"] = {"n": len(meetings), "mean": round(statistics.fmean(meetings), 4)}
    return out


async def test_250_responses_and_a_kobo_import_then_close(
    database_url: str, kafka_bootstrap: str, infra: testing.Infra
) -> None:
    cid = testing.unique("wave1")
    app = create_app(settings(database_url, kafka_bootstrap))
    async with testing.collect(kafka_bootstrap, topics.SURVEYS) as collector, testing.running_app(app) as client:
        await testing.wait_ready(client)
        assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
        assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200

        final: dict[str, dict[str, Any]] = {}  # submission id of the response's first version -> closed answers
        bodies = [response_body(i, submission_id=f"{cid}-api-{i}") for i in range(250)]
        sem = asyncio.Semaphore(8)

        async def post(body: dict[str, Any]) -> None:
            async with sem:
                r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=auth(EDITOR))
                assert r.status_code == 201, r.text

        await asyncio.gather(*(post(b) for b in bodies))
        for body in bodies:
            final[body["submission_id"]] = closed_from_api(body)

        rows = [kobo_row(cid, f"{cid}-kobo-{i}", i) for i in range(17)]
        repeat_api = [kobo_row(cid, f"{cid}-api-{i}", 900 + i) for i in (3, 4)]  # same ids, sent before via API
        repeat_in_file = dict(rows[5])
        edit = kobo_row(cid, f"{cid}-api-7-v2", 7)
        edit["meta/deprecatedID"] = f"uuid:{cid}-api-7"
        edit["meta/rootUuid"] = f"uuid:{cid}-api-7"
        edit["grp/q_dialogue"] = "5"
        export = [*rows[:10], *repeat_api, repeat_in_file, edit, *rows[10:]]
        assert len(export) == 21
        r = await client.post(f"/v1/campaigns/{cid}/imports/kobo", json={"results": export}, headers=auth(EDITOR))
        assert r.status_code == 201, r.text
        result = r.json()
        assert (result["recorded"], result["duplicates"], result["corrected"], result["rejected"]) == (17, 3, 1, 0)
        for row in rows:
            final[row["_uuid"]] = closed_from_kobo(row)
        final[f"{cid}-api-7"] = closed_from_kobo(edit)

        r = await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))
        assert r.status_code == 200
        assert (await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))).status_code == 200

        def mine(event_type: str) -> list[Any]:
            return [e for e in collector.events(event_type) if e.data.campaign_id == cid]  # type: ignore[attr-defined]

        await collector.wait_for(lambda _c: len(mine(COMPLETED)) >= 1, timeout=60, message="survey.completed")
        await collector.wait_for(lambda _c: len(mine(RECORDED)) >= 267, timeout=60, message="267 recorded")
        await asyncio.sleep(2)  # anything extra (a second completed, duplicates) would have arrived by now

    completed = mine(COMPLETED)
    assert len(completed) == 1
    data = completed[0].data
    assert isinstance(data, SurveyCompleted)
    assert data.respondents == 267
    assert data.margin_of_error_95 == pytest.approx(100 * 1.96 * (0.25 / 267) ** 0.5, abs=0.01)
    expected = expected_aggregates(list(final.values()))
    got = {q.question_id: q for q in data.questions}
    assert set(got) == {q["question_id"] for q in QUESTIONS if q["type"] != "free_text"}
    for qid, want in expected.items():
        for key, value in want.items():
            assert getattr(got[qid], key) == value, (qid, key)
    assert got["q_dialogue"].indicator == "satisfaction_dialogue"
    assert got["q_dialogue"].top2_box_pct == round(100 * expected["q_dialogue"]["top2_box"] / 267, 2)

    recorded, corrected = mine(RECORDED), mine(CORRECTED)
    assert len(recorded) == 267  # the 3 repeats produced nothing
    assert len({e.data.response_id for e in recorded}) == 267
    assert len({e.id for e in recorded}) == 267
    assert len(corrected) == 1
    assert corrected[0].data.response_id in {e.data.response_id for e in recorded}
    assert [a.value for a in corrected[0].data.answers if a.question_id == "q_dialogue"] == [5]

    payloads = [r.value for r in collector.records if r.key == cid.encode() and r.value is not None]
    assert len(payloads) == 1 + 267 + 1 + 1
    assert_no_personal_data(payloads)
