"""Issue 25 on real Kafka and PostgreSQL: a campaign from its XLSForm, a Kobo export with the form's own choice
names (tests/data), the dry run, the import, a mapping edited mid-campaign, and the Kobo REST-service webhook.

The export (tests/data/README.md): 8 new submissions, a repeat, an edit through ``meta/deprecatedID``, four
invalid rows and one not approved -> recorded 8, corrected 1, duplicates 1, rejected 4, skipped 1.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from surveys_support import ADMIN, EDITOR, PLACE, SETTLEMENTS, assert_no_personal_data, auth, loc, settings

from lsg_events import topics
from lsg_local import testing
from lsg_surveys.entrypoints.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

DATA = Path(__file__).parents[1] / "data"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECORDED = "lv.lsg.survey.response.recorded.v1"
CORRECTED = "lv.lsg.survey.response.corrected.v1"
MARKERS = ("Jānis", "Bērziņš", "+371", "3712911", "Privāts komentārs", "zvaniet", "Иван")


def campaign_body(cid: str) -> dict[str, Any]:
    return {
        "campaign_id": cid,
        "kind": "opinion_survey",
        "title": loc("Dialogs 2026", "Диалог 2026", "Dialogue 2026"),
        "place": PLACE,
        "planned_start": "2026-03-01",
        "planned_end": "2026-04-30",
        "target_size": 200,
        "settlements": SETTLEMENTS,
        "questionnaire": "xlsform",
    }


def export(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text("utf-8"))
    return loaded


async def test_from_xlsform_to_events(database_url: str, kafka_bootstrap: str, infra: testing.Infra) -> None:
    cid = testing.unique("form")
    app = create_app(settings(database_url, kafka_bootstrap))
    async with testing.collect(kafka_bootstrap, topics.SURVEYS) as collector, testing.running_app(app) as client:
        await testing.wait_ready(client)
        assert (await client.post("/v1/campaigns", json=campaign_body(cid), headers=auth(ADMIN))).status_code == 201
        # A survey without its form cannot open.
        r = await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "questions"

        # 1. the form: questions and mapping version 1
        form = (DATA / "kobo_form.xlsx").read_bytes()
        r = await client.put(f"/v1/campaigns/{cid}/form", content=form, headers={**auth(ADMIN), "content-type": XLSX})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["mapping_version"] == 1
        assert [q["question_id"] for q in body["questions"]] == [
            "q_dialogue", "q_involvement", "q_channel", "q_topics", "q_meetings", "q_comment"
        ]  # fmt: skip
        assert [q["type"] for q in body["questions"]][:2] == ["likert_5", "likert_5"]
        assert body["questions"][0]["label"] == loc("Dialogs", "Диалог", "Dialogue")
        kobo = body["mappings"]["kobo"]
        assert kobo["match"] == "explicit"
        assert kobo["age_band"] == {
            "column": "resp/age_group",
            "values": {"18_29": "18-29", "30_44": "30-44", "45_64": "45-64", "65_plus": "65+"},
        }
        assert kobo["gender"]["values"] == {"sieviete": "female", "virietis": "male", "cits": "other"}
        assert kobo["settlement_code"]["values"] == {"v1": "0801101", "v2": "0801102", "v3": "0801103"}
        assert kobo["questions"]["q_dialogue"]["values"]["very_satisfied"] == 5
        assert body["mappings"]["odk"]["questions"]["q_topics"]["column"] == "grp-q_topics"
        assert any("v9" in w for w in body["form"]["warnings"])
        assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
        # Once open, the questions are fixed.
        r = await client.put(f"/v1/campaigns/{cid}/form", content=form, headers={**auth(ADMIN), "content-type": XLSX})
        assert r.status_code == 409

        # 2. the dry run: what would map, what has no mapping; nothing stored
        first = export("kobo_export.json")
        r = await client.post(f"/v1/campaigns/{cid}/imports/kobo/dry-run", json=first, headers=auth(EDITOR))
        assert r.status_code == 200, r.text
        dry = r.json()
        assert dry["stored"] is False
        assert dry["mapping_version"] == 1
        assert dry["unmapped_values"] == {"q_dialogue": {"extremely_satisfied": 1}, "settlement_code": {"v9": 1}}
        fields = {f["field"]: f for f in dry["fields"]}
        assert fields["age_band"]["mapped"]["65_plus -> 65+"] == 3
        assert fields["gender"]["column"] == "resp/gender"
        assert (dry["valid"], dry["rejected"], dry["skipped"]) == (10, 4, 1)
        assert dry["unused_columns"] == []
        assert (await client.get(f"/v1/campaigns/{cid}", headers=auth(ADMIN))).json()["responses"] == 0

        # 3. the import
        r = await client.post(f"/v1/campaigns/{cid}/imports/kobo?partial=true", json=first, headers=auth(EDITOR))
        assert r.status_code == 201, r.text
        result = r.json()
        counts = tuple(result[k] for k in ("received", "recorded", "corrected", "duplicates", "rejected", "skipped"))
        assert counts == (15, 8, 1, 1, 4, 1)
        assert result["mapping_version"] == 1
        rejected = {
            row["row"]: [e["field"] for e in row["errors"]] for row in result["rows"] if row["status"] == "rejected"
        }
        assert rejected == {
            10: ["rows[10].answers.q_dialogue"],
            11: ["rows[11].settlement_code"],
            12: ["rows[12].answers.q_meetings"],
            13: ["rows[13].answers.q_dialogue"],
        }
        reasons = {row["row"]: row["errors"][0]["message"] for row in result["rows"] if row["status"] == "rejected"}
        assert "no value mapping for 'extremely_satisfied'" in reasons[10]
        assert "required" in reasons[13]
        first_ids = {row["row"]: row["response_id"] for row in result["rows"] if row["status"] == "recorded"}

        # 4. the mapping edited mid-campaign: later imports only
        r = await client.get(f"/v1/campaigns/{cid}/mappings", headers=auth(EDITOR))
        mappings = r.json()["mappings"]
        assert r.json()["version"] == 1
        mappings["kobo"]["questions"]["q_dialogue"]["values"]["extremely_satisfied"] = 5
        mappings["kobo"]["settlement_code"]["values"]["v9"] = "0801103"
        mappings["kobo"]["age_band"]["values"]["30_44"] = "undisclosed"
        bad = {**mappings, "kobo": {**mappings["kobo"], "gender": {"column": "resp/gender", "values": {"x": "woman"}}}}
        r = await client.put(f"/v1/campaigns/{cid}/mappings", json=bad, headers=auth(EDITOR))
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "mappings.kobo.gender.values.x"
        r = await client.put(f"/v1/campaigns/{cid}/mappings", json=mappings, headers=auth(EDITOR))
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 2
        r = await client.post(
            f"/v1/campaigns/{cid}/imports/kobo/dry-run", json=export("kobo_export_later.json"), headers=auth(EDITOR)
        )
        assert r.json()["unmapped_values"] == {}
        assert r.json()["mapping_version"] == 2
        r = await client.post(
            f"/v1/campaigns/{cid}/imports/kobo", json=export("kobo_export_later.json"), headers=auth(EDITOR)
        )
        assert r.status_code == 201, r.text
        later = r.json()
        assert (later["recorded"], later["rejected"], later["mapping_version"]) == (2, 0, 2)
        imports = (await client.get(f"/v1/campaigns/{cid}/imports", headers=auth(EDITOR))).json()
        assert [(i["mapping_version"], i["recorded"]) for i in imports] == [(1, 8), (2, 2)]
        # The earlier import's responses keep what version 1 made of them.
        stored = await client.get(f"/v1/campaigns/{cid}/responses/{first_ids[1]}", headers=auth(EDITOR))
        assert stored.json()["mapping_version"] == 1
        assert stored.json()["age_range"] == "30-44"
        old = (await client.get(f"/v1/campaigns/{cid}/mappings/1", headers=auth(EDITOR))).json()
        assert "extremely_satisfied" not in old["mappings"]["kobo"]["questions"]["q_dialogue"]["values"]

        # 5. the webhook: one submission as a Kobo REST service posts it
        url = f"/v1/campaigns/{cid}/webhooks/kobo"
        r = await client.post(f"{url}/secret", headers=auth(ADMIN))
        assert r.status_code == 201
        secret = r.json()["secret"]
        submission = {**export("kobo_export.json")["results"][0]}
        submission.update({"_uuid": "e1", "meta/instanceID": "uuid:e1", "_id": 7001, "resp/age_group": "30_44"})
        assert (await client.post(url, json=submission)).status_code == 401
        assert (await client.post(url, json=submission, headers={"X-LSG-Webhook-Secret": "wrong"})).status_code == 401
        basic = {"authorization": "Basic " + base64.b64encode(f"kobo:{secret}".encode()).decode()}
        r = await client.post(url, json=submission, headers=basic)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "recorded"
        r = await client.post(url, json=submission, headers={"X-LSG-Webhook-Secret": secret})  # Kobo's retry
        assert r.status_code == 200
        assert r.json()["status"] == "duplicate"
        edit = {
            **submission,
            "meta/instanceID": "uuid:e1-v2",
            "meta/deprecatedID": "uuid:e1",
            "grp/q_dialogue": "neutral",
        }
        r = await client.post(url, json=edit, headers=basic)
        assert r.status_code == 200
        assert r.json()["status"] == "corrected"
        broken = {**submission, "meta/instanceID": "uuid:e2", "_uuid": "e2", "grp/q_meetings": "many"}
        r = await client.post(url, json=broken, headers=basic)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "rows[0].answers.q_meetings"

        def mine(event_type: str) -> list[Any]:
            return [e for e in collector.events(event_type) if e.data.campaign_id == cid]  # type: ignore[attr-defined]

        await collector.wait_for(lambda _c: len(mine(RECORDED)) >= 8 + 2 + 1, timeout=60, message="11 recorded")
        await collector.wait_for(lambda _c: len(mine(CORRECTED)) >= 2, timeout=60, message="2 corrected")
        await asyncio.sleep(1)

    recorded, corrected = mine(RECORDED), mine(CORRECTED)
    assert len(recorded) == 11
    assert len(corrected) == 2
    by_id = {e.data.response_id: e.data for e in recorded}
    demographics = {(d.age_band, d.age_range, d.gender) for d in by_id.values()}
    assert ("65+", None, "female") in demographics  # 65_plus is exactly the suite's band
    assert ("undisclosed", "18-29", "female") in demographics  # straddles 16-24 / 25-34: published as asked
    assert ("undisclosed", "45-64", "other") in demographics
    first_recorded = by_id[first_ids[0]]
    assert first_recorded.place.settlement is not None
    assert first_recorded.place.settlement.code == "0801101"
    assert {a.question_id: a.value for a in first_recorded.answers if a.value is not None} == {
        "q_dialogue": 5,
        "q_involvement": 5,
    }
    edit_event = next(e.data for e in corrected if e.data.response_id == first_ids[1])
    assert [a.value for a in edit_event.answers if a.question_id == "q_dialogue"] == [5]
    # version 2 maps 30_44 to undisclosed: the later import and the webhook (after it) say so, version 1's did not
    later_ids = {row["response_id"] for row in later["rows"]}
    assert {(by_id[i].age_band, by_id[i].age_range) for i in later_ids} == {
        ("undisclosed", None),
        ("undisclosed", "18-29"),
    }
    assert by_id[first_ids[1]].age_range == "30-44"
    payloads = [r.value for r in collector.records if r.key == cid.encode() and r.value is not None]
    assert_no_personal_data(payloads, MARKERS)
