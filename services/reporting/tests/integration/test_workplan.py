"""Issue 27, the work plan on real PostgreSQL and Kafka: a simulated year's outputs (surveys closed, deliverables
recorded, some late) and expenditure; `GET /v1/workplan?as_of=` shows exactly the slippage flags worked out by
hand from the plan at two as-of days; the burn next to the output progress (the public summary and the viewer's
`/v1/expenditure/burn`) equals a calculation made here; roles (public plan, viewer burn)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from reporting_testkit import produce, reset_topics, wait_inbox

from conftest import AUTH, TOKENS
from lsg_events import CloudEvent
from lsg_events.geography import Place
from lsg_events.reporting import DeliverableRecorded
from lsg_events.surveys import SurveyCompleted
from lsg_local.testing import running_app, unique, wait_ready
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]
D = Decimal

BUDGET = [
    ("LEAD", "staff", "WP1", "52000.00"),
    ("LEAD", "external_expertise", "WP2", "50000.00"),
    ("LPS", "travel", "WP3", "52600.00"),
    ("LPS", "equipment", "WP4", "50000.00"),
]
# (id, partner, category, work package, day, amount EUR, eligible once verified or None)
ENTRIES = [
    ("w1", "LEAD", "staff", "WP1", "2025-01-31", "4000.00", "4000.00"),
    ("w2", "LEAD", "external_expertise", "WP2", "2025-03-20", "6000.00", "5500.00"),
    ("w3", "LPS", "travel", "WP3", "2025-04-10", "2500.00", None),
    ("w4", "LPS", "equipment", "WP4", "2025-06-15", "9000.00", "9000.00"),
    ("w5", "LEAD", "staff", "WP1", "2025-07-31", "4000.00", None),
]


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def survey_closed(run: str, wave: int, day: date) -> CloudEvent:
    data = SurveyCompleted(
        campaign_id=f"{run}-w{wave}",
        kind="opinion_survey",
        wave=wave,
        place=Place(country="LV"),
        respondents=260,
        closed_at=_at(day),
    )
    return CloudEvent(data=data, source="/lsg/surveys", id=f"{run}-s{wave}", time=_at(day))


def recorded(run: str, kind: str, day: date) -> CloudEvent:
    data = DeliverableRecorded(deliverable_id=f"{run}-{kind}", kind=kind, quantity=1, recorded_on=day)
    return CloudEvent(data=data, source="/lsg/reporting", id=f"{run}-{kind}", time=_at(day))


def flags(plan: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["ref"]) for f in plan["slippage"]}


def spent_by_partner_month(on: str) -> dict[str, dict[str, str]]:
    """Cumulative spending per partner by month, computed here: eligible once verified, else declared."""
    out: dict[str, dict[str, str]] = {}
    running: dict[str, D] = {}
    for _, partner, _, _, day, amount, eligible in sorted(ENTRIES, key=lambda e: e[4]):
        if day > on:
            continue
        running[partner] = running.get(partner, D(0)) + D(eligible or amount)
        out.setdefault(partner, {})[day[:7]] = str(running[partner])
    return out


async def test_a_simulated_years_plan_flags_slippage_and_burns_against_progress(
    private_kafka: str, database_url: str
) -> None:
    await reset_topics(private_kafka)
    run = unique("plan")
    events = [
        survey_closed(run, 1, date(2025, 3, 20)),  # wave 1 on time (due 31 March)
        survey_closed(run, 2, date(2025, 7, 20)),  # wave 2 three weeks late (due 30 June)
        recorded(run, "cooperation_agreement_partners", date(2025, 3, 1)),
        recorded(run, "best_practice_collection", date(2025, 3, 10)),
        recorded(run, "training_kit", date(2025, 5, 15)),  # due 30 April
        recorded(run, "concept_local_elders", date(2025, 6, 20)),
    ]
    await produce(private_kafka, events)
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
        await wait_inbox(database_url, group, len(events))
        lines = [{"partner": p, "category": c, "work_package": w, "amount": a} for p, c, w, a in BUDGET]
        r = await client.post("/v1/budget/versions", json={"reason": "Grant", "lines": lines}, headers=AUTH["admin"])
        assert r.status_code == 201, r.text
        for entry_id, partner, category, wp, day, amount, eligible in ENTRIES:
            body = {
                "entry_id": entry_id,
                "partner": partner,
                "category": category,
                "work_package": wp,
                "spent_on": day,
                "amount": amount,
                "currency": "EUR",
                "vat": "0.00",
                "invoice_ref": f"INV-{entry_id}",
                "description": {"lv": "Izdevumi", "ru": "Расходы", "en": "Costs"},
                "evidence_ref": f"dms://{entry_id}.pdf",
            }
            r = await client.post("/v1/expenditure", json=body, headers=AUTH["editor"])
            assert r.status_code == 201, r.text
            if eligible is not None:
                ineligible = str(D(amount) - D(eligible))
                r = await client.post(
                    f"/v1/expenditure/{entry_id}/verification",
                    json={"eligible_eur": eligible, "ineligible_eur": ineligible, "note": "FLC"},
                    headers=AUTH["admin"],
                )
                assert r.status_code == 200, r.text

        # ---- 1 May: the kit (due 30 April) is missing; the first focus group and 250 respondents are behind
        r = await client.get("/v1/workplan", params={"as_of": "2025-05-01"})  # public: no token
        assert r.status_code == 200, r.text
        may = r.json()
        assert flags(may) == {
            ("deliverable_overdue", "D3.1.2"),
            ("below_expected", "ED.TRAINING_KIT"),
            ("below_expected", "SD.RESPONDENTS"),
            ("below_expected", "SD.FOCUS_GROUPS"),
            ("below_expected", "SD.FOCUS_GROUP_PARTICIPANTS"),
        }
        statuses = {
            d["code"]: d["status"] for p in may["work_packages"] for a in p["activities"] for d in a["deliverables"]
        }
        assert statuses["D2.1.1"] == "delivered"
        assert statuses["D3.1.1"] == "delivered"
        assert statuses["D4.3.1"] == "delivered"
        assert statuses["D2.1.2"] == "planned"
        assert [p["code"] for p in may["work_packages"]] == ["WP1", "WP2", "WP3", "WP4"]
        assert may["work_packages"][1]["title"] == {
            "lv": "Sociālais dialogs",
            "ru": "Социальный диалог",
            "en": "Social dialogue",
        }

        # ---- 1 July: wave 2 (due 30 June) is late
        july = (await client.get("/v1/workplan", params={"as_of": "2025-07-01"})).json()
        assert ("deliverable_overdue", "D2.1.2") in flags(july)
        assert ("below_expected", "SD.SURVEYS") in flags(july)

        # ---- 1 August: the kit and wave 2 came late and are no longer flagged; what was due by then is
        aug = (await client.get("/v1/workplan", params={"as_of": "2025-08-01"})).json()
        assert flags(aug) == {
            ("deliverable_overdue", "D1.1.1"),  # period 1 report not approved by 31 July
            ("deliverable_overdue", "D2.2.1"),
            ("deliverable_overdue", "D3.2.1"),
            ("deliverable_overdue", "D4.4.1"),
            ("below_expected", "SD.RESPONDENTS"),
            ("below_expected", "SD.FOCUS_GROUPS"),
            ("below_expected", "SD.FOCUS_GROUP_PARTICIPANTS"),
            ("below_expected", "SD.CONSULTATIONS"),
            ("below_expected", "SD.CONSULTATION_PARTICIPANTS"),
            ("below_expected", "ED.TRAINING_SESSIONS"),
            ("below_expected", "ED.TRAINING_COMPLETED"),
            ("below_expected", "ED.MODULE_ATTENDANCE"),
            ("below_expected", "CA.DEVICES_INSTALLED"),
            ("below_expected", "CA.DEVICE_AVAILABILITY"),  # no figure where 95 % is expected
            ("below_expected", "CA.ALERTS_ACK_IN_TIME"),
        }

        # ---- burn next to progress on 1 August, against the figures worked out here
        on = "2025-08-01"
        burn = aug["burn"]
        expected_months = spent_by_partner_month(on)
        assert {p: b["months"] for p, b in burn["partners"].items()} == expected_months
        spent = sum(D(e[6] or e[5]) for e in ENTRIES)
        assert D(burn["spent"]) == spent == D("25000.00")  # 4000 + 5500 + 2500 + 9000 + 4000
        assert burn["budget"] == "204600.00"
        assert burn["spent_pct"] == round(float(spent / D("204600") * 100), 2)
        days = (date(2025, 8, 1) - date(2025, 1, 1)).days + 1
        assert burn["time_pct"] == round(days / 365 * 100, 2)
        assert D(burn["forecast"]) == (spent / days * 365).quantize(D("0.01"))
        # output progress: the mean of the capped shares of each package's cumulative output indicators
        #   WP2 (8 outputs): surveys 2/4                                   -> 50 / 8
        #   WP3 (11 outputs): best practice 1/1, kit 1/1                   -> 200 / 11
        #   WP4 (6 outputs): concept 1/1, partners' agreement 1/1          -> 200 / 6
        wps = burn["work_packages"]
        assert wps["WP1"]["output_progress_pct"] is None
        assert wps["WP2"]["output_progress_pct"] == round(50 / 8, 2)
        assert wps["WP3"]["output_progress_pct"] == round(200 / 11, 2)
        assert wps["WP4"]["output_progress_pct"] == round(200 / 6, 2)
        assert burn["output_progress_pct"] == round((50 + 200 + 200) / 25, 2)  # 25 cumulative outputs in all
        assert wps["WP2"]["spent_pct"] == round(5500 / 50000 * 100, 2)
        assert wps["WP4"]["spent"] == "9000.00"

        # ---- the viewer's burn carries the same progress block; roles
        assert (await client.get("/v1/expenditure/burn", params={"on": on})).status_code == 401
        r = await client.get("/v1/expenditure/burn", params={"on": on}, headers=AUTH["viewer"])
        assert r.status_code == 200, r.text
        assert r.json()["progress"] == burn
        assert r.json()["spent"] == burn["spent"]
        bad = await client.get("/v1/workplan", params={"as_of": "1 May"})
        assert bad.status_code == 422
