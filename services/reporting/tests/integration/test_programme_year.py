"""A generated programme year on real Kafka + PostgreSQL: figures equal the oracle, poison goes to the DLQ,
the rebuild equals live, indicator.updated mirrors the figures, the reports export."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import asyncpg
import pytest
from openpyxl import load_workbook
from reporting_testkit import differences, oracle, produce, reset_topics, service_cells, wait_inbox

from conftest import AUTH, TOKENS
from lsg_events import CloudEvent, topics
from lsg_events.geography import Place
from lsg_events.surveys import ClosedAnswer, SurveyResponseRecorded
from lsg_local.testing import collect, running_app, unique, wait_ready
from lsg_reporting.application.rebuild import rebuild
from lsg_reporting.domain.catalogue import load
from lsg_reporting.domain.rules import Extractor
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings
from lsg_shared import dlq
from lsg_shared.settings import KafkaSettings
from lsg_testkit.programme import generate

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)


def _poison() -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    # 1. not even JSON; 2. valid contract but a Likert value of 9 (a domain rejection inside a batch)
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"poison-1"),
        ("ce_source", b"/lsg/test"),
        ("ce_type", b"lv.lsg.survey.response.recorded.v1"),
        ("content-type", b"application/json"),
    ]
    bad = CloudEvent(
        data=SurveyResponseRecorded(
            campaign_id="poison",
            response_id="poison-r",
            respondent_key="k",
            wave=1,
            place=Place(country="LV"),
            answers=[ClosedAnswer(question_id="q1", indicator="SD.SAT_DIALOGUE", value=9)],
            submitted_at=datetime(2025, 2, 1, tzinfo=UTC),
        ),
        source="/lsg/test",
        id="poison-2",
        time=datetime(2025, 2, 1, tzinfo=UTC),
    )
    key, value, h = bad.to_kafka()
    return [
        (topics.SURVEYS, b"poison", b"{not json", headers),
        (topics.SURVEYS, key, value, [(k, v.encode()) for k, v in h.items()]),
    ]


async def test_programme_year_equals_oracle_and_rebuild_equals_live(private_kafka: str, database_url: str) -> None:
    await reset_topics(private_kafka)
    programme = generate(seed=11, run=unique("year"))
    await produce(private_kafka, programme.events, extra=_poison())
    group = unique("reporting")
    settings = ReportingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=private_kafka),
        consumer_group=group,
        api_tokens=TOKENS,
        publish_interval_s=0.5,
        consumer_retry_backoff_s=0.05,
    )
    catalogue = load()
    app = create_app(settings)
    async with (
        running_app(app) as client,
        collect(private_kafka, topics.INDICATORS, topics.dlq_topic(topics.SURVEYS)) as seen,
    ):
        await wait_ready(client)
        await wait_inbox(database_url, group, programme.unique_events, timeout=150)

        expected = oracle(programme, UNTIL)
        conn = await asyncpg.connect(database_url)
        try:
            live = await service_cells(conn, catalogue, UNTIL)
            assert not differences(expected, live)[:20]
            codes = {k[0] for k in live}
            assert codes == {i.code for i in catalogue.indicators}, "every indicator has figures"
        finally:
            await conn.close()

        # the two poison records are dead-lettered with their reasons; nothing of them is counted
        await seen.wait_for(lambda c: len([r for r in c.records if r.topic.endswith(".dlq")]) >= 2, 30, "2 dlq")
        reasons = sorted(r.headers[dlq.REASON] for r in seen.records if r.topic.endswith(".dlq"))
        assert reasons == ["invalid-answer", "invalid-data"]

        # the API: list, public and raw breakdowns, sources, exports
        listing = (await client.get("/v1/indicators", params={"as_of": "2025-12-31"})).json()
        by_code = {i["code"]: i for i in listing["indicators"]}
        assert by_code["SD.SURVEYS"]["actual"] == 3  # wave 4 had 240 respondents
        assert (
            by_code["ED.TRAINING_COMPLETED"]["actual"]
            == expected[("ED.TRAINING_COMPLETED", "programme", "programme", "total", "ALL")][0]
        )
        assert by_code["CA.RECOMMENDATIONS"]["actual"] == 300  # the correction replaced 200
        assert by_code["ED.HANDBOOK_LANGUAGES"]["actual"] == 3
        assert {i["rag"] for i in listing["indicators"]} <= {"green", "amber", "red", "grey"}
        public = (
            await client.get("/v1/indicators/SD.RESPONDENTS", params={"breakdown": "settlement", "period": "month"})
        ).json()
        hidden = [c for c in public["cells"] if c["suppressed"]]
        assert all(c["value"] is None for c in hidden)
        assert all(c["persons"] >= 5 for c in public["cells"] if not c["suppressed"])
        groups: dict[tuple[str, str], list[bool]] = {}
        for c in public["cells"]:
            groups.setdefault((c["period"], c["parent"]), []).append(c["suppressed"])
        # secondary suppression: a hidden cell never stands alone beside visible siblings
        assert all(sum(g) != 1 or len(g) == 1 for g in groups.values())
        assert any(sum(g) >= 2 for g in groups.values())
        assert (await client.get("/v1/indicators/SD.RESPONDENTS", params={"raw": "true"})).status_code == 401
        raw = (
            await client.get(
                "/v1/indicators/SD.RESPONDENTS",
                headers=AUTH["viewer"],
                params={"breakdown": "settlement", "period": "month", "raw": "true"},
            )
        ).json()
        assert not any(c["suppressed"] for c in raw["cells"])
        assert sum(c["value"] for c in raw["cells"]) == sum(c["value"] for c in public["cells"] if c["value"]) + sum(
            c["value"] for c in raw["cells"] if (c["period"], c["key"]) in {(h["period"], h["key"]) for h in hidden}
        )
        bad = await client.get("/v1/indicators/SD.RESPONDENTS", params={"period": "2025Q9"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "period"
        src = (await client.get("/v1/indicators/SD.SURVEYS/sources", headers=AUTH["viewer"])).json()
        assert src["total"] == 4
        assert all(i["event_type"] == "lv.lsg.survey.completed.v1" for i in src["items"])
        xlsx = await client.get("/v1/reports/progress.xlsx", params={"as_of": "2025-12-31"})
        sheet = load_workbook(io.BytesIO(xlsx.content))["Progress"]
        assert [r[0].value for r in sheet.iter_rows(min_row=3)] == [i.code for i in catalogue.indicators]
        csv_text = (await client.get("/v1/reports/progress.csv")).text
        assert csv_text.splitlines()[0].startswith("code,group,title_en")
        iati = ET.fromstring((await client.get("/v1/reports/iati.xml")).content)  # noqa: S314 (our own response)
        assert iati.get("version") == "2.03"
        assert len(iati.findall(".//result/indicator")) == len(catalogue.indicators)

        # indicator.updated: the latest record per key mirrors the figure
        total_key = "SD.RESPONDENTS|programme|country:ALL"
        want = expected[("SD.RESPONDENTS", "programme", "programme", "total", "ALL")][0]

        def mirrored(c: object) -> bool:
            latest = [e for e in seen.events("lv.lsg.indicator.updated.v1") if e.data.key == total_key]  # type: ignore[attr-defined]
            return bool(latest) and latest[-1].data.value == want  # type: ignore[attr-defined]

        await seen.wait_for(mirrored, 60, "indicator.updated of the respondents total")

        # rebuild from offset 0 into fresh tables, swapped in: equal to live (and to the oracle)
        pool = app.state.runtime.pool
        result = await rebuild(pool, settings.kafka, Extractor(catalogue))
        assert result.events == programme.unique_events
        assert result.skipped == 2
        conn = await asyncpg.connect(database_url)
        try:
            rebuilt = await service_cells(conn, catalogue, UNTIL)
        finally:
            await conn.close()
        assert rebuilt == live

        # the consumer goes on into the swapped table
        status = await client.post(
            "/v1/deliverables",
            headers=AUTH["editor"],
            json={"kind": "brochure_lsg", "quantity": 50, "language": "ru", "recorded_on": "2025-11-03"},
        )
        assert status.status_code == 201, status.text
        for _ in range(100):
            now = (await client.get("/v1/indicators/SD.BROCHURE_LSG")).json()
            if now["cells"] and now["cells"][0]["value"] == 350:
                break
            await asyncio.sleep(0.3)
        assert now["cells"][0]["value"] == 350
    assert json.dumps(now)
