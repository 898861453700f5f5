"""The progress report as documents: CSV (UTF-8), XLSX (openpyxl) and IATI 2.03 result/indicator XML."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree as ET

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from lsg_reporting.domain import iati
from lsg_reporting.domain.catalogue import IATI_MEASURE, IATI_RESULT_TYPE, Catalogue
from lsg_reporting.domain.finance import PARTNERS
from lsg_reporting.domain.iati import Activity
from lsg_reporting.domain.periods import bounds, expected
from lsg_reporting.domain.progress import Summary, programme_quarters, round_or_none

COLUMNS = [
    "code",
    "group",
    "title_en",
    "title_lv",
    "title_ru",
    "unit",
    "measure",
    "baseline",
    "target",
    "expected_now",
    "actual",
    "progress_pct",
    "rag",
    "numerator",
    "denominator",
    "last_update",
]


def _rows(summaries_: list[Summary]) -> list[list[Any]]:
    rows = []
    for s in summaries_:
        d = s.as_dict()
        rows.append(
            [
                d["code"],
                d["group"],
                d["title"]["en"],
                d["title"]["lv"],
                d["title"]["ru"],
                d["unit"],
                d["measure"],
                d["baseline"],
                d["target"],
                d["expected_now"],
                d["actual"],
                d["progress_pct"],
                d["rag"],
                d["numerator"],
                d["denominator"],
                d["last_update"],
            ]
        )
    return rows


def to_csv(summaries_: list[Summary]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(_rows(summaries_))
    return buffer.getvalue()


_RAG_FILL = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE", "grey": "EDEDED"}


def to_xlsx(catalogue: Catalogue, summaries_: list[Summary], as_of: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Progress"
    ws.append([f"{catalogue.programme.title.en} — progress report as of {as_of.isoformat()}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(COLUMNS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in _rows(summaries_):
        ws.append(row)
        rag_cell = ws.cell(row=ws.max_row, column=COLUMNS.index("rag") + 1)
        rag_cell.fill = PatternFill("solid", fgColor=_RAG_FILL.get(str(row[COLUMNS.index("rag")]), "FFFFFF"))
    ws.freeze_panes = "B3"
    quarters = programme_quarters(catalogue)
    qs = wb.create_sheet("Quarterly")
    qs.append(["code", "title_en", "unit", "target", *quarters])
    for cell in qs[1]:
        cell.font = Font(bold=True)
    for s in summaries_:
        qs.append(
            [
                s.indicator.code,
                s.indicator.title.en,
                s.indicator.unit,
                s.indicator.target,
                *[round_or_none(s.quarters.get(q), s.indicator.decimals) for q in quarters],
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_iati(catalogue: Catalogue, act: Activity, generated: datetime) -> bytes:
    """The programme as one IATI 2.03 activity, elements in the schema's order: identification, organisations,
    status and dates, countries and sector, budget per reporting period, expenditure transactions, results."""
    XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
    prog = catalogue.programme
    root = ET.Element("iati-activities", {"version": "2.03", "generated-datetime": generated.isoformat()})
    activity = ET.SubElement(
        root,
        "iati-activity",
        {"last-updated-datetime": generated.isoformat(), XML_LANG: "en", "default-currency": "EUR"},
    )
    ET.SubElement(activity, "iati-identifier").text = prog.iati_identifier

    def narratives(parent: ET.Element, text: Any) -> None:
        for lang in ("en", "lv", "ru"):
            n = ET.SubElement(parent, "narrative", {XML_LANG: lang} if lang != "en" else {})
            n.text = text[lang] if isinstance(text, dict) else getattr(text, lang)

    lead = PARTNERS["LEAD"]
    narratives(
        ET.SubElement(activity, "reporting-org", {"ref": iati.REPORTING_ORG_REF, "type": iati.ORG_TYPE_NATIONAL_NGO}),
        lead.name,
    )
    narratives(ET.SubElement(activity, "title"), prog.title)
    narratives(ET.SubElement(activity, "description", {"type": "1"}), iati.DESCRIPTION)
    narratives(ET.SubElement(activity, "participating-org", {"role": iati.ROLE_FUNDING, "type": "40"}), iati.FUNDER)
    narratives(
        ET.SubElement(
            activity,
            "participating-org",
            {"ref": lead.iati_ref, "role": iati.ROLE_ACCOUNTABLE, "type": iati.ORG_TYPE_NATIONAL_NGO},
        ),
        lead.name,
    )
    for partner in PARTNERS.values():
        narratives(
            ET.SubElement(
                activity,
                "participating-org",
                {"ref": partner.iati_ref, "role": iati.ROLE_IMPLEMENTING, "type": iati.ORG_TYPE_NATIONAL_NGO},
            ),
            partner.name,
        )
    ET.SubElement(activity, "activity-status", {"code": act.status})
    for kind, day in act.dates:
        ET.SubElement(activity, "activity-date", {"type": kind, "iso-date": day.isoformat()})
    for country, share in act.countries:
        ET.SubElement(activity, "recipient-country", {"code": country, "percentage": str(share)})
    ET.SubElement(activity, "sector", {"vocabulary": "1", "code": iati.SECTOR_DECENTRALISATION, "percentage": "100"})
    for period, amount in act.budgets:
        budget = ET.SubElement(activity, "budget", {"type": "1", "status": "2"})
        ET.SubElement(budget, "period-start", {"iso-date": period.start.isoformat()})
        ET.SubElement(budget, "period-end", {"iso-date": period.end.isoformat()})
        ET.SubElement(budget, "value", {"value-date": period.start.isoformat()}).text = str(amount)
    for t in act.transactions:
        tr = ET.SubElement(activity, "transaction", {"ref": t.ref})
        ET.SubElement(tr, "transaction-type", {"code": iati.TRANSACTION_EXPENDITURE})
        ET.SubElement(tr, "transaction-date", {"iso-date": t.on.isoformat()})
        ET.SubElement(tr, "value", {"value-date": t.on.isoformat()}).text = str(t.value)
        partner = PARTNERS[t.partner]
        narratives(
            ET.SubElement(tr, "provider-org", {"ref": partner.iati_ref, "type": iati.ORG_TYPE_NATIONAL_NGO}),
            partner.name,
        )
    groups: dict[tuple[str, str], list[Summary]] = {}
    for s in act.summaries:
        groups.setdefault((s.indicator.group, s.indicator.result_type), []).append(s)
    quarters = programme_quarters(catalogue)
    for (group, result_type), items in groups.items():
        result = ET.SubElement(activity, "result", {"type": IATI_RESULT_TYPE[result_type], "aggregation-status": "1"})
        narratives(ET.SubElement(result, "title"), catalogue.groups[group])
        for s in items:
            ind = s.indicator
            el = ET.SubElement(
                result,
                "indicator",
                {
                    "measure": IATI_MEASURE[ind.measure],
                    "ascending": "1" if ind.ascending else "0",
                    "aggregation-status": "1" if ind.cumulative else "0",
                },
            )
            narratives(ET.SubElement(el, "title"), ind.title)
            ET.SubElement(el, "reference", {"vocabulary": "99", "code": ind.code})
            if ind.baseline is not None:
                ET.SubElement(
                    el,
                    "baseline",
                    {"year": str(prog.start.year), "iso-date": prog.start.isoformat(), "value": _num(ind.baseline)},
                )
            for q in quarters:
                start, end = bounds("quarter", q)
                result_period = ET.SubElement(el, "period")
                ET.SubElement(result_period, "period-start", {"iso-date": start.date().isoformat()})
                last_day = date.fromordinal(end.date().toordinal() - 1)
                ET.SubElement(result_period, "period-end", {"iso-date": last_day.isoformat()})
                target = expected(ind, prog, last_day)
                if target is not None:
                    ET.SubElement(result_period, "target", {"value": _num(target)})
                actual = s.quarters.get(q)
                if actual is not None:
                    ET.SubElement(result_period, "actual", {"value": _num(round(actual, max(ind.decimals, 2)))})
                    for country, value in sorted(act.by_country.get((ind.code, q), {}).items()):
                        part = ET.SubElement(result_period, "actual", {"value": _num(value)})
                        ET.SubElement(part, "dimension", {"name": "country", "value": country})
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _num(value: float) -> str:
    return f"{value:.6g}" if value != int(value) else str(int(value))
