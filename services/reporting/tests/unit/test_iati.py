"""Issue 27: the IATI 2.03 activity file passes the official 2.03 activity schema (lxml XMLSchema on the XSDs in
tests/data/iati, CC BY 4.0, IATI Standard) and follows the rules that matter beyond the schema: the identifier
starts with the reporting organisation's ref, recipient-country percentages add up to 100, budgets do not exceed
a year and add up to the budget, transactions come from verified expenditure in force, narratives in lv/ru/en."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from lsg_reporting.adapters.documents import to_iati
from lsg_reporting.domain import catalogue as catalogue_mod
from lsg_reporting.domain import iati
from lsg_reporting.domain.figures import Cell
from lsg_reporting.domain.finance import BudgetLine, Entry
from lsg_reporting.domain.progress import summarise
from lsg_reporting.domain.report_periods import periods

XSD = Path(__file__).parent.parent / "data" / "iati" / "iati-activities-schema.xsd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
D = Decimal


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def _activity(on: date) -> tuple[iati.Activity, etree._Element]:
    catalogue = catalogue_mod.load(None)
    cells = [
        Cell("SD.SURVEYS", "programme", "programme", "total", "total", "", 2, 0),
        Cell("SD.SURVEYS", "quarter", "2025Q1", "total", "total", "", 1, 0),
        Cell("SD.SURVEYS", "quarter", "2025Q2", "total", "total", "", 1, 0),
    ]
    summaries = summarise(catalogue, cells, {}, on)
    lines = [
        BudgetLine("LEAD", "staff", "WP1", D("102300.00")),
        BudgetLine("LPS", "staff", "WP1", D("102300.00")),
    ]
    entries = [
        Entry("a", "LEAD", "staff", "WP1", date(2025, 2, 1), D("100.00"), "P1", None, D("90.00"), D("10.00")),
        Entry("b", "LPS", "staff", "WP1", date(2025, 3, 1), D("50.00"), "P1"),  # not verified: no transaction
        Entry("c", "LPS", "staff", "WP1", date(2025, 3, 2), D("70.00"), "P1", None, D("70.00"), D("0.00")),
        Entry("c2", "LPS", "staff", "WP1", date(2025, 3, 2), D("75.00"), "P1", "c", D("75.00"), D("0.00")),
    ]
    prog = catalogue.programme
    act = iati.Activity(
        on=on,
        summaries=summaries,
        status=iati.activity_status(on, prog.start, prog.end, closed=False),
        dates=iati.activity_dates(on, prog.start, prog.end),
        countries=iati.country_shares(lines),
        budgets=iati.budget_per_period(D("204600.00"), periods(prog.start, prog.end)),
        transactions=iati.transactions(entries),
        by_country={("SD.SURVEYS", "2025Q1"): {"LV": 1.0}, ("SD.SURVEYS", "2025Q2"): {"LV": 1.0, "RU": 1.0}},
    )
    xml = to_iati(catalogue, act, datetime(2026, 1, 15, 12, tzinfo=UTC))
    return act, etree.fromstring(xml)


def test_the_activity_file_passes_the_official_2_03_schema(schema: etree.XMLSchema) -> None:
    _, doc = _activity(date(2025, 8, 1))
    assert schema.validate(doc), schema.error_log


def test_a_file_missing_the_reporting_org_is_refused_by_the_schema(schema: etree.XMLSchema) -> None:
    _, doc = _activity(date(2025, 8, 1))
    activity = doc.find("iati-activity")
    assert activity is not None
    reporting = activity.find("reporting-org")
    assert reporting is not None
    activity.remove(reporting)
    assert not schema.validate(doc)
    assert "reporting-org" in str(schema.error_log)


def test_the_rules_beyond_the_schema() -> None:
    _, doc = _activity(date(2025, 8, 1))
    act = doc.find("iati-activity")
    assert act is not None
    reporting = act.find("reporting-org")
    assert reporting is not None
    assert act.findtext("iati-identifier", "").startswith(reporting.get("ref", "?") + "-")
    shares = {c.get("code"): D(c.get("percentage", "0")) for c in act.findall("recipient-country")}
    assert shares == {"LV": D("50.00"), "RU": D("50.00")}
    assert sum(shares.values()) == 100
    assert [s.get("percentage") for s in act.findall("sector")] == ["100"]
    roles = {(p.get("ref"), p.get("role")) for p in act.findall("participating-org")}
    assert {("XM-DAC-0-LSG-LEAD", "2"), ("XM-DAC-0-LSG-LEAD", "4"), ("XM-DAC-0-LSG-LPS", "4")} <= roles
    assert act.find("activity-status").get("code") == "2"  # type: ignore[union-attr]
    assert {d.get("type") for d in act.findall("activity-date")} == {"1", "2", "3"}
    for element in ("title", "description"):
        langs = {n.get(XML_LANG, "en") for n in act.find(element).findall("narrative")}  # type: ignore[union-attr]
        assert langs == {"en", "lv", "ru"}
    budgets = act.findall("budget")
    assert len(budgets) == 2
    total = D(0)
    for b in budgets:
        start = date.fromisoformat(b.find("period-start").get("iso-date"))  # type: ignore[union-attr,arg-type]
        end = date.fromisoformat(b.find("period-end").get("iso-date"))  # type: ignore[union-attr,arg-type]
        assert (end - start).days < 366
        total += D(b.findtext("value", "0"))
    assert total == D("204600.00")
    transactions = [(t.get("ref"), t.findtext("value")) for t in act.findall("transaction")]
    assert transactions == [("a", "90.00"), ("c2", "75.00")]  # verified, in force; c is superseded by c2
    surveys = next(
        i
        for i in act.iter("indicator")
        if i.find("reference").get("code") == "SD.SURVEYS"  # type: ignore[union-attr]
    )
    q2 = surveys.findall("period")[1]
    actuals = [
        (a.get("value"), [(d.get("name"), d.get("value")) for d in a.findall("dimension")])
        for a in q2.findall("actual")
    ]
    assert actuals == [("2", []), ("1", [("country", "LV")]), ("1", [("country", "RU")])]


def test_status_and_dates_follow_the_calendar_and_the_last_approval() -> None:
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    assert iati.activity_status(date(2024, 12, 1), start, end, closed=False) == "1"
    assert iati.activity_status(date(2026, 1, 5), start, end, closed=False) == "3"
    assert iati.activity_status(date(2026, 1, 5), start, end, closed=True) == "4"
    assert [t for t, _ in iati.activity_dates(date(2026, 1, 5), start, end)] == ["1", "2", "3", "4"]
