"""Issue 27, budget and expenditure on the real HTTP app and PostgreSQL (no broker needed): budget versions with
the co-financing split, entries in another currency at the entered rate, VAT, first-level control (four eyes,
eligible + ineligible = declared), corrections as new entries, the burn, and the roles of every money route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from conftest import AUTH, TOKENS
from lsg_local.testing import running_app
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.component, pytest.mark.postgres, pytest.mark.kafka]

LINES = [
    {"partner": "LEAD", "category": "staff", "work_package": "WP1", "amount": "60000.00"},
    {"partner": "LEAD", "category": "travel", "work_package": "WP3", "amount": "40000.00"},
    {"partner": "LPS", "category": "staff", "work_package": "WP2", "amount": "54600.00"},
    {"partner": "LPS", "category": "equipment", "work_package": "WP4", "amount": "50000.00"},
]


def entry(entry_id: str, **over: Any) -> dict[str, Any]:
    body = {
        "entry_id": entry_id,
        "partner": "LPS",
        "category": "travel",
        "work_package": "WP3",
        "activity": "A3.2",
        "spent_on": "2025-03-10",
        "amount": "1210.00",
        "currency": "EUR",
        "vat": "210.00",
        "invoice_ref": "INV-2025-17",
        "description": {"lv": "Ceļa izdevumi", "ru": "Командировка", "en": "Travel to Riga"},
        "evidence_ref": "dms://lps/2025/17.pdf",
    }
    return {**body, **over}


@pytest.fixture
async def client(database_url: str, private_kafka: str) -> AsyncIterator[Any]:
    # the outbox relay publishes the money events: to the tests' private broker, never make run's
    settings = ReportingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=private_kafka),
        api_tokens=TOKENS,
        consume=False,
        publish_figures=False,
    )
    async with running_app(create_app(settings)) as client:
        yield client


async def test_budget_versions_with_co_financing_split_and_reason(client: Any) -> None:
    assert (await client.get("/v1/budget", headers=AUTH["viewer"])).status_code == 404
    first = await client.post(
        "/v1/budget/versions", json={"reason": "Application budget", "lines": LINES}, headers=AUTH["admin"]
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["version"] == 1
    assert body["approved_by"] == "ops"
    assert body["totals"]["total"] == "204600.00"
    # EUR 184,104 / 20,496 as the programme card says (89.98 % is that share rounded: it would give 184,099.08)
    assert (body["totals"]["programme"], body["totals"]["own"]) == ("184104.00", "20496.00")
    assert Decimal(body["totals"]["programme"]) + Decimal(body["totals"]["own"]) == Decimal("204600.00")
    moved = [dict(line) for line in LINES]
    moved[0]["amount"], moved[1]["amount"] = "55000.00", "45000.00"
    second = await client.post(
        "/v1/budget/versions",
        json={"reason": "Reallocation: study tour costs more", "lines": moved},
        headers=AUTH["admin"],
    )
    assert second.json()["version"] == 2
    current = (await client.get("/v1/budget", headers=AUTH["viewer"])).json()
    assert current["version"] == 2
    assert current["totals"]["partner"]["LEAD"] == "100000.00"
    assert current["totals"]["category"]["travel"] == "45000.00"
    old = (await client.get("/v1/budget", params={"version": 1}, headers=AUTH["viewer"])).json()
    assert old["totals"]["category"]["travel"] == "40000.00"
    history = (await client.get("/v1/budget/versions", headers=AUTH["viewer"])).json()["items"]
    assert [(v["version"], v["reason"]) for v in history] == [
        (1, "Application budget"),
        (2, "Reallocation: study tour costs more"),
    ]
    bad = await client.post(
        "/v1/budget/versions",
        json={"reason": "x", "lines": [{**LINES[0], "category": "catering"}]},
        headers=AUTH["admin"],
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "lines.0.category"
    twice = await client.post(
        "/v1/budget/versions", json={"reason": "x", "lines": [LINES[0], LINES[0]]}, headers=AUTH["admin"]
    )
    assert twice.status_code == 422


async def test_expenditure_currency_vat_verification_and_correction(client: Any, database_url: str) -> None:
    await client.post(
        "/v1/budget/versions", json={"reason": "Application budget", "lines": LINES}, headers=AUTH["admin"]
    )
    rub = await client.post(
        "/v1/expenditure",
        json=entry(
            "rub-1",
            partner="LEAD",
            category="staff",
            work_package="WP1",
            amount="120000.00",
            currency="RUB",
            rate="0.0105",
            vat="20000.00",
            vat_recoverable=True,
        ),
        headers=AUTH["editor"],
    )
    assert rub.status_code == 201, rub.text
    assert rub.json()["amount_eur"] == "1050.00"  # (120000 - 20000) x 0.0105: recoverable VAT is not declared
    assert rub.json()["vat_eur"] == "210.00"
    assert rub.json()["period_id"] == "P1"
    again = await client.post(
        "/v1/expenditure",
        json=entry(
            "rub-1",
            partner="LEAD",
            category="staff",
            work_package="WP1",
            amount="120000.00",
            currency="RUB",
            rate="0.0105",
            vat="20000.00",
            vat_recoverable=True,
        ),
        headers=AUTH["editor"],
    )
    assert again.status_code == 200
    assert (await client.post("/v1/expenditure", json=entry("rub-1"), headers=AUTH["editor"])).status_code == 409
    eur = (await client.post("/v1/expenditure", json=entry("eur-1"), headers=AUTH["editor"])).json()
    assert eur["amount_eur"] == "1210.00"
    assert (
        await client.post("/v1/expenditure", json=entry("x", currency="EUR", rate="2"), headers=AUTH["editor"])
    ).json()["errors"][0]["field"] == "rate"
    assert (await client.post("/v1/expenditure", json=entry("x", vat="5000.00"), headers=AUTH["editor"])).json()[
        "errors"
    ][0]["field"] == "vat"
    assert (
        await client.post("/v1/expenditure", json=entry("x", spent_on="2026-03-01"), headers=AUTH["editor"])
    ).json()["errors"][0]["field"] == "spent_on"

    # first-level control: eligible + ineligible = declared; not by who declared it
    wrong = await client.post(
        "/v1/expenditure/eur-1/verification",
        json={"eligible_eur": "1000.00", "ineligible_eur": "100.00"},
        headers=AUTH["admin"],
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "ineligible_eur"
    ok = await client.post(
        "/v1/expenditure/eur-1/verification",
        json={"eligible_eur": "1000.00", "ineligible_eur": "210.00", "note": "VAT recoverable by LPS"},
        headers=AUTH["admin"],
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["verification"]["ineligible_eur"] == "210.00"
    await client.post("/v1/expenditure", json=entry("own-1"), headers=AUTH["admin"])
    own = await client.post(
        "/v1/expenditure/own-1/verification",
        json={"eligible_eur": "1210.00", "ineligible_eur": "0.00"},
        headers=AUTH["admin"],
    )
    assert own.status_code == 409

    # a correction is a new entry naming the corrected one; the corrected one no longer counts
    fixed = await client.post(
        "/v1/expenditure/eur-1/corrections",
        json=entry("eur-1b", amount="1331.00", vat="231.00"),
        headers=AUTH["editor"],
    )
    assert fixed.status_code == 201
    assert fixed.json()["corrects"] == "eur-1"
    twice = await client.post("/v1/expenditure/eur-1/corrections", json=entry("eur-1c"), headers=AUTH["editor"])
    assert twice.status_code == 409
    burn = (await client.get("/v1/expenditure/burn", params={"on": "2025-12-31"}, headers=AUTH["viewer"])).json()
    assert burn["spent"] == "3591.00"  # rub-1 1050 + own-1 1210 + eur-1b 1331 (eur-1 superseded)
    assert burn["by"]["partner"]["LPS"] == {"budget": "104600.00", "spent": "2541.00"}
    assert burn["time_pct"] == 100.0
    listing = (await client.get("/v1/expenditure", params={"period": "P1"}, headers=AUTH["viewer"])).json()["items"]
    assert {i["entry_id"] for i in listing} == {"rub-1", "eur-1", "own-1", "eur-1b"}

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT event_type, value FROM lsg_outbox ORDER BY seq")
    finally:
        await conn.close()
    kinds = [r["event_type"] for r in rows]
    assert kinds.count("lv.lsg.expenditure.recorded.v1") == 4
    assert kinds.count("lv.lsg.expenditure.verified.v1") == 1
    for r in rows:  # no person, no free text in the events
        assert b"ops" not in bytes(r["value"])
        assert b"lps-editor" not in bytes(r["value"])
        assert b"INV-2025" not in bytes(r["value"])
        assert b"Riga" not in bytes(r["value"])


ROUTES = [
    ("GET", "/v1/budget", "viewer"),
    ("GET", "/v1/budget/versions", "viewer"),
    ("POST", "/v1/budget/versions", "admin"),
    ("POST", "/v1/expenditure", "editor"),
    ("POST", "/v1/expenditure/e1/corrections", "editor"),
    ("POST", "/v1/expenditure/e1/verification", "admin"),
    ("GET", "/v1/expenditure", "viewer"),
    ("GET", "/v1/expenditure/burn", "viewer"),
]
BELOW = {"viewer": None, "editor": "viewer", "admin": "editor"}


@pytest.mark.parametrize(("method", "path", "role"), ROUTES)
async def test_money_routes_need_their_role(client: Any, method: str, path: str, role: str) -> None:
    assert (await client.request(method, path, json={})).status_code == 401
    lower = BELOW[role]
    if lower is not None:
        assert (await client.request(method, path, json={}, headers=AUTH[lower])).status_code == 403
