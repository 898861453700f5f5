"""Corrections and `as_of`, deliverables through the API (auth, validation, idempotency), admin rebuild."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from reporting_testkit import produce, reset_topics, wait_inbox

from conftest import AUTH, TOKENS
from lsg_events import CloudEvent
from lsg_events.geography import Place
from lsg_events.surveys import ClosedAnswer, SurveyResponseCorrected, SurveyResponseRecorded
from lsg_local.testing import running_app, unique, wait_ready
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]


async def _until(
    client: Any,
    path: str,
    check: Any,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(int(timeout / 0.2)):
        body = (await client.get(path, params=params, headers=headers)).json()
        if check(body):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path}: {body}")


async def test_as_of_correction_deliverables_and_rebuild(private_kafka: str, database_url: str) -> None:
    await reset_topics(private_kafka)
    run = unique("asof")
    place = Place(country="LV")
    common = {
        "campaign_id": run,
        "response_id": f"{run}-r1",
        "respondent_key": "k1",
        "wave": 1,
        "place": place,
        "gender": "female",
        "submitted_at": datetime(2025, 3, 1, 9, tzinfo=UTC),
    }
    recorded = CloudEvent(
        data=SurveyResponseRecorded(
            answers=[ClosedAnswer(question_id="q1", indicator="SD.SAT_DIALOGUE", value=2)], **common
        ),  # type: ignore[arg-type]
        source="/lsg/surveys",
        id=f"{run}-1",
        time=datetime(2025, 3, 1, 9, 5, tzinfo=UTC),
    )
    corrected = CloudEvent(
        data=SurveyResponseCorrected(
            answers=[ClosedAnswer(question_id="q1", indicator="SD.SAT_DIALOGUE", value=5)],
            corrected_at=datetime(2025, 3, 10, 12, tzinfo=UTC),
            **common,
        ),  # type: ignore[arg-type]
        source="/lsg/surveys",
        id=f"{run}-2",
        time=datetime(2025, 3, 10, 12, tzinfo=UTC),
    )
    # the correction is published first: out of order
    await produce(private_kafka, [corrected, recorded, recorded])
    group = unique("reporting")
    settings = ReportingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=private_kafka),
        consumer_group=group,
        api_tokens=TOKENS,
        publish_interval_s=0.5,
        outbox_poll_interval_s=0.2,
    )
    async with running_app(create_app(settings)) as client:
        await wait_ready(client)
        await wait_inbox(database_url, group, 2)
        path = "/v1/indicators/SD.SAT_DIALOGUE_MEAN"
        before = (await client.get(path, params={"as_of": "2025-03-05", "raw": "true"}, headers=AUTH["viewer"])).json()
        after = (await client.get(path, params={"raw": "true"}, headers=AUTH["viewer"])).json()
        assert before["cells"][0]["value"] == 2.0
        assert after["cells"][0]["value"] == 5.0
        assert (await client.get(path, params={"as_of": "2025-02-01", "raw": "true"}, headers=AUTH["viewer"])).json()[
            "cells"
        ] == []
        public = (await client.get(path, params={"breakdown": "country"})).json()
        assert public["cells"][0]["suppressed"] is True
        assert public["cells"][0]["value"] is None
        src = (
            await client.get(f"{path}/sources", params={"include_superseded": "true"}, headers=AUTH["viewer"])
        ).json()
        assert {(i["event_id"], i["in_force"]) for i in src["items"]} == {(f"{run}-1", False), (f"{run}-2", True)}
        assert (await client.get(f"{path}/sources")).status_code == 401
        bad_as_of = await client.get(path, params={"as_of": "yesterday"})
        assert bad_as_of.status_code == 422
        assert bad_as_of.json()["errors"][0]["field"] == "as_of"
        assert (await client.get("/v1/indicators/XX.NOPE")).status_code == 404

        # deliverables: who may, what is valid, idempotent repeat, correction
        body = {
            "deliverable_id": f"{run}-hb",
            "kind": "handbook_elders",
            "quantity": 120,
            "language": "ru",
            "recorded_on": "2025-09-01",
            "evidence_url": "https://lps.lv/handbook.pdf",
        }
        assert (await client.post("/v1/deliverables", json=body)).status_code == 401
        assert (await client.post("/v1/deliverables", json=body, headers=AUTH["viewer"])).status_code == 403
        wrong = await client.post("/v1/deliverables", json={**body, "kind": "poster"}, headers=AUTH["editor"])
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "kind"
        neg = await client.post("/v1/deliverables", json={**body, "quantity": -1}, headers=AUTH["editor"])
        assert neg.status_code == 422
        assert "quantity" in str(neg.json()["errors"])
        assert (await client.post("/v1/deliverables", json=body, headers=AUTH["editor"])).status_code == 201
        assert (await client.post("/v1/deliverables", json=body, headers=AUTH["editor"])).status_code == 200
        conflict = await client.post("/v1/deliverables", json={**body, "quantity": 150}, headers=AUTH["editor"])
        assert conflict.status_code == 409
        fixed = await client.put(f"/v1/deliverables/{run}-hb", json={**body, "quantity": 150}, headers=AUTH["editor"])
        assert fixed.status_code == 200
        hb = await _until(
            client, "/v1/indicators/ED.HANDBOOK_ELDERS", lambda b: b["cells"] and b["cells"][0]["value"] == 150
        )
        assert hb["cells"][0]["value"] == 150
        listing = (await client.get("/v1/deliverables", headers=AUTH["viewer"])).json()
        assert [d["quantity"] for d in listing["items"]] == [150]

        # admin rebuild through the API: same figures afterwards
        assert (await client.post("/v1/admin/rebuild", headers=AUTH["editor"])).status_code == 403
        started = await client.post("/v1/admin/rebuild", headers=AUTH["admin"])
        assert started.status_code == 202
        run_id = started.json()["id"]
        state = await _until(
            client,
            f"/v1/admin/rebuild/{run_id}",
            lambda b: b.get("status") == "done",
            headers=AUTH["admin"],
            timeout=60,
        )
        assert state["events"] >= 4
        again = (await client.get(path, params={"raw": "true"}, headers=AUTH["viewer"])).json()
        assert again["cells"] == after["cells"]
        assert (await client.get("/v1/indicators/ED.HANDBOOK_ELDERS")).json()["cells"][0]["value"] == 150
        openapi = (await client.get("/openapi.json")).json()
        assert "/v1/indicators/{code}/sources" in openapi["paths"]
