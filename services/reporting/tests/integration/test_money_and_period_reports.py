"""Issue 27 acceptance on real PostgreSQL and Kafka: a simulated year with a budget, expenditure (another
currency, an ineligible part, a correction) and two period reports through the workflow; the burn equals an
independent calculation here; approving period 1 and then correcting one of its facts (an expenditure entry and
a survey answer) leaves period 1's report byte for byte as approved and shows both as adjustments in period 2;
the report's XLSX and PDF (lv/ru/en text extracted back from the PDF); the roles of every period route."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader
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
IATI_XSD = Path(__file__).parent.parent / "data" / "iati" / "iati-activities-schema.xsd"
D = Decimal

BUDGET = [
    ("LEAD", "staff", "WP1", "52000.00"),
    ("LEAD", "travel", "WP3", "30000.00"),
    ("LEAD", "external_expertise", "WP2", "20000.00"),
    ("LPS", "staff", "WP1", "46600.00"),
    ("LPS", "office_admin", "WP1", "6000.00"),
    ("LPS", "equipment", "WP4", "50000.00"),
]


def entry(
    entry_id: str, partner: str, category: str, wp: str, spent_on: str, amount: str, **over: Any
) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "partner": partner,
        "category": category,
        "work_package": wp,
        "spent_on": spent_on,
        "amount": amount,
        "currency": "EUR",
        "vat": "0.00",
        "invoice_ref": f"INV-{entry_id}",
        "description": {"lv": "Ceļa izdevumi, Rēzekne", "ru": "Командировка, Гатчина", "en": "Travel"},
        "evidence_ref": f"dms://evidence/{entry_id}.pdf",
        **over,
    }


def survey_events(run: str) -> tuple[CloudEvent, CloudEvent]:
    common = {
        "campaign_id": run,
        "response_id": f"{run}-r1",
        "respondent_key": "k1",
        "wave": 1,
        "place": Place(country="LV"),
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
            corrected_at=datetime(2025, 8, 10, 12, tzinfo=UTC),
            **common,
        ),  # type: ignore[arg-type]
        source="/lsg/surveys",
        id=f"{run}-2",
        time=datetime(2025, 8, 10, 12, tzinfo=UTC),
    )
    return recorded, corrected


async def wait_event(dsn: str, consumer: str, event_id: str, timeout: float = 60) -> None:
    """Wait until `consumer` has claimed the event (its own money events reach the same inbox)."""
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(int(timeout / 0.2)):
            if await conn.fetchval("SELECT 1 FROM lsg_inbox WHERE consumer = $1 AND event_id = $2", consumer, event_id):
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise AssertionError(f"{event_id} not consumed after {timeout}s")


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _files(client: Any, period: str) -> dict[str, bytes]:
    out = {}
    for suffix in ("report", "report.xlsx", "report.pdf"):
        response = await client.get(f"/v1/periods/{period}/{suffix}", headers=AUTH["viewer"])
        assert response.status_code == 200, response.text
        out[suffix] = response.content
    return out


def burn_oracle(entries: dict[str, dict[str, Any]], verified: dict[str, str], corrected: set[str]) -> dict[str, D]:
    """Spent per partner, computed here: in-force entries, eligible once verified, else declared."""
    spent: dict[str, D] = {}
    for entry_id, e in entries.items():
        if entry_id in corrected:
            continue
        amount = D(verified[entry_id]) if entry_id in verified else D(e["amount"]) * D(e.get("rate", "1"))
        spent[e["partner"]] = spent.get(e["partner"], D(0)) + amount.quantize(D("0.01"))
    return spent


async def test_a_year_of_money_and_two_period_reports(private_kafka: str, database_url: str) -> None:
    await reset_topics(private_kafka)
    run = unique("money")
    recorded, survey_correction = survey_events(run)
    await produce(private_kafka, [recorded])
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
        await wait_inbox(database_url, group, 1)
        admin, editor = AUTH["admin"], AUTH["editor"]
        lines = [{"partner": p, "category": c, "work_package": w, "amount": a} for p, c, w, a in BUDGET]
        await _ok(
            await client.post("/v1/budget/versions", json={"reason": "Grant contract", "lines": lines}, headers=admin),
            201,
        )

        # ---- period 1: entries, one in RUB, a correction before approval, an ineligible part
        made = {
            "e1": entry("e1", "LEAD", "staff", "WP1", "2025-01-31", "8000.00"),
            "e2": entry("e2", "LEAD", "travel", "WP3", "2025-03-15", "95000.00", currency="RUB", rate="0.0104"),
            "e3": entry("e3", "LPS", "staff", "WP1", "2025-02-28", "7000.00"),
            "e4": entry("e4", "LPS", "equipment", "WP4", "2025-05-20", "12100.00", vat="2100.00"),
        }
        for body in made.values():
            await _ok(await client.post("/v1/expenditure", json=body, headers=editor), 201)
        made["e3b"] = entry("e3b", "LPS", "staff", "WP1", "2025-02-28", "7200.00")
        fixed = await _ok(await client.post("/v1/expenditure/e3/corrections", json=made["e3b"], headers=editor), 201)
        assert fixed["period_id"] == "P1"
        verified = {"e1": "8000.00", "e2": "988.00", "e3b": "7200.00", "e4": "10000.00"}
        for entry_id, eligible in verified.items():
            row = next(
                i
                for i in (await client.get("/v1/expenditure", headers=AUTH["viewer"])).json()["items"]
                if i["entry_id"] == entry_id
            )
            declared = D(row["amount_eur"])
            await _ok(
                await client.post(
                    f"/v1/expenditure/{entry_id}/verification",
                    json={"eligible_eur": eligible, "ineligible_eur": str(declared - D(eligible)), "note": "VAT"},
                    headers=admin,
                )
            )
        narrative = {
            "work_packages": {
                "WP2": {"lv": "Notika divas aptaujas.", "ru": "Проведены два опроса.", "en": "Two surveys were held."}
            }
        }
        assert (await client.put("/v1/periods/P1/report/narrative", json=narrative, headers=editor)).status_code == 200
        assert (await client.post("/v1/periods/P2/report/submit", headers=editor)).status_code == 409  # P1 first
        await _ok(await client.post("/v1/periods/P1/report/submit", headers=editor))
        # under review: no new entry for P1, no narrative change
        late = entry("e5", "LEAD", "staff", "WP1", "2025-06-01", "100.00")
        assert (await client.post("/v1/expenditure", json=late, headers=editor)).status_code == 409
        assert (await client.put("/v1/periods/P1/report/narrative", json=narrative, headers=editor)).status_code == 409
        assert (
            await client.post("/v1/periods/P1/report/approve", headers=admin)
        ).status_code == 409  # not in verification
        await _ok(await client.post("/v1/periods/P1/report/verification", headers=admin))
        await _ok(await client.post("/v1/periods/P1/report/approve", headers=admin))
        p1 = await _files(client, "P1")
        doc1 = json.loads(p1["report"])
        assert doc1["status"] == "approved"
        assert doc1["expenditure"]["totals"]["declared"] == "28288.00"  # 8000 + 988 + 7200 + 12100 (e3 superseded)
        assert doc1["expenditure"]["totals"]["eligible"] == "26188.00"
        assert doc1["expenditure"]["totals"]["ineligible"] == "2100.00"
        sat = next(i for i in doc1["indicators"] if i["code"] == "SD.SAT_DIALOGUE_MEAN")
        assert sat["quarters"]["2025Q1"] == 2.0

        # ---- after approval: a P1 entry corrected and a P1 survey answer corrected
        made["e1b"] = entry("e1b", "LEAD", "staff", "WP1", "2025-01-31", "8500.00")
        adj = await _ok(await client.post("/v1/expenditure/e1/corrections", json=made["e1b"], headers=editor), 201)
        assert adj["period_id"] == "P2"
        assert (
            await client.post(
                "/v1/expenditure/e1/verification",
                json={"eligible_eur": "8000.00", "ineligible_eur": "0.00"},
                headers=admin,
            )
        ).status_code == 409  # locked
        await produce(private_kafka, [survey_correction])
        await wait_event(database_url, group, survey_correction.id)
        # ---- period 2
        made["p2a"] = entry("p2a", "LPS", "equipment", "WP4", "2025-09-01", "30000.00")
        made["p2b"] = entry("p2b", "LEAD", "external_expertise", "WP2", "2025-11-05", "15000.00")
        for key in ("p2a", "p2b"):
            assert (await _ok(await client.post("/v1/expenditure", json=made[key], headers=editor), 201))[
                "period_id"
            ] == "P2"
        verified.update({"e1b": "8500.00", "p2a": "30000.00", "p2b": "14000.00"})
        for entry_id, eligible in (("e1b", "8500.00"), ("p2a", "30000.00"), ("p2b", "14000.00")):
            declared = D(made[entry_id]["amount"])
            await _ok(
                await client.post(
                    f"/v1/expenditure/{entry_id}/verification",
                    json={"eligible_eur": eligible, "ineligible_eur": str(declared - D(eligible))},
                    headers=admin,
                )
            )

        # period 1 is frozen: byte for byte what was approved
        assert await _files(client, "P1") == p1
        frozen = await client.get("/v1/periods/P1/report", headers=AUTH["viewer"])
        assert frozen.headers["X-Report-Frozen"] == "true"
        # period 2 shows both corrections as adjustments of P1
        doc2 = json.loads((await client.get("/v1/periods/P2/report", headers=AUTH["viewer"])).content)
        (exp_adj,) = doc2["adjustments"]["expenditure"]
        assert exp_adj["entry_id"] == "e1b"
        assert exp_adj["adjustment_of"] == "P1"
        assert exp_adj["counts_eur"] == "500.00"
        assert {
            (a["period_id"], a["code"], a["quarter"], a["approved"], a["now"])
            for a in doc2["adjustments"]["indicators"]
            if a["code"] == "SD.SAT_DIALOGUE_MEAN"
        } == {("P1", "SD.SAT_DIALOGUE_MEAN", "2025Q1", 2.0, 5.0)}
        assert doc2["expenditure"]["totals"]["declared"] == "45500.00"  # 30000 + 15000 + the 500 adjustment
        assert doc2["expenditure"]["totals"]["eligible"] == "44500.00"

        # burn equals the calculation here
        burn = (await client.get("/v1/expenditure/burn", params={"on": "2025-12-31"}, headers=AUTH["viewer"])).json()
        expected = burn_oracle(made, verified, corrected={"e1", "e3"})
        assert {k: D(v["spent"]) for k, v in burn["by"]["partner"].items()} == expected
        assert D(burn["spent"]) == sum(expected.values())
        assert burn["spent_pct"] == round(float(sum(expected.values()) / D("204600.00") * 100), 2)
        # P1 + P2 reports together account for every in-force euro
        assert D(doc1["expenditure"]["totals"]["eligible"]) + D(doc2["expenditure"]["totals"]["eligible"]) == D(
            burn["spent"]
        )

        # P2 through the workflow; the exports of the report
        await _ok(await client.post("/v1/periods/P2/report/submit", headers=editor))
        await _ok(await client.post("/v1/periods/P2/report/verification", headers=admin))
        await _ok(await client.post("/v1/periods/P2/report/approve", headers=admin))
        p2 = await _files(client, "P2")
        assert json.loads(p2["report"])["status"] == "approved"
        sheets = load_workbook(io.BytesIO(p2["report.xlsx"]))
        assert sheets["Expenditure"].max_row == 4  # header + e1b, p2a, p2b
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(p1["report.pdf"])).pages)
        for words in ("Perioda pārskats", "Отчёт за период", "Проведены два опроса", "Ceļa izdevumi, Rēzekne"):
            assert words in text
        listed = (await client.get("/v1/periods", headers=AUTH["viewer"])).json()["items"]
        assert [(p["period_id"], p["status"], p["locked"]) for p in listed] == [
            ("P1", "approved", True),
            ("P2", "approved", True),
        ]
        # the IATI file of the year: valid against the official 2.03 schema, with budget, transactions, results
        iati_xml = (await client.get("/v1/reports/iati.xml")).content
        schema = etree.XMLSchema(etree.parse(str(IATI_XSD)))
        iati_doc = etree.fromstring(iati_xml)
        assert schema.validate(iati_doc), schema.error_log
        activity = iati_doc.find("iati-activity")
        assert activity.find("activity-status").get("code") == "4"  # over, last report approved
        assert len(activity.findall("budget")) == 2
        assert sum(D(b.findtext("value")) for b in activity.findall("budget")) == D("204600.00")
        assert sorted((t.get("ref"), t.findtext("value")) for t in activity.findall("transaction")) == sorted(
            (k, v) for k, v in verified.items() if k not in {"e1", "e3"}
        )
        assert len(activity.findall("result/indicator")) > 0
        late_p2 = entry("e9", "LPS", "staff", "WP1", "2025-12-01", "10.00")
        assert (await client.post("/v1/expenditure", json=late_p2, headers=editor)).status_code == 409  # all locked

        # the events went through the outbox to Kafka, and carry no person
        conn = await asyncpg.connect(database_url)
        try:
            for _ in range(100):
                pending = await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL")
                if pending == 0:
                    break
                await asyncio.sleep(0.2)
            rows = await conn.fetch("SELECT event_type, value FROM lsg_outbox ORDER BY seq")
        finally:
            await conn.close()
        assert pending == 0
        kinds = [r["event_type"] for r in rows]
        assert kinds.count("lv.lsg.expenditure.recorded.v1") == 8
        assert kinds.count("lv.lsg.expenditure.verified.v1") == 7
        assert kinds.count("lv.lsg.report.submitted.v1") == 2
        assert kinds.count("lv.lsg.report.approved.v1") == 2
        for r in rows:
            assert b"lps-editor" not in bytes(r["value"])
            assert b"INV-" not in bytes(r["value"])


PERIOD_ROUTES = [
    ("GET", "/v1/periods", "viewer"),
    ("GET", "/v1/periods/P1/report", "viewer"),
    ("GET", "/v1/periods/P1/report.xlsx", "viewer"),
    ("GET", "/v1/periods/P1/report.pdf", "viewer"),
    ("PUT", "/v1/periods/P1/report/narrative", "editor"),
    ("POST", "/v1/periods/P1/report/submit", "editor"),
    ("POST", "/v1/periods/P1/report/verification", "admin"),
    ("POST", "/v1/periods/P1/report/return", "admin"),
    ("POST", "/v1/periods/P1/report/approve", "admin"),
]
BELOW = {"viewer": None, "editor": "viewer", "admin": "editor"}


async def test_period_routes_need_their_role(private_kafka: str, database_url: str) -> None:
    settings = ReportingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=private_kafka),
        api_tokens=TOKENS,
        consume=False,
        publish_figures=False,
    )
    async with running_app(create_app(settings)) as client:
        for method, path, role in PERIOD_ROUTES:
            assert (await client.request(method, path, json={})).status_code == 401, path
            lower = BELOW[role]
            if lower is not None:
                assert (await client.request(method, path, json={}, headers=AUTH[lower])).status_code == 403, path
        assert (await client.get("/v1/periods/P7/report", headers=AUTH["viewer"])).status_code == 404
