"""The period report as files: XLSX (openpyxl) and PDF (fpdf2 with an embedded Unicode TrueType font, DejaVu Sans
by default as for the training certificates, so Latvian diacritics and Cyrillic print as written)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from openpyxl import Workbook
from openpyxl.styles import Font

from lsg_reporting.domain.finance import CATEGORY_TITLES, WORK_PACKAGES

logging.getLogger("fontTools").setLevel(logging.WARNING)

LANGS = ("lv", "ru", "en")
LABELS: dict[str, dict[str, str]] = {
    "report": {"lv": "Perioda pārskats", "ru": "Отчёт за период", "en": "Period report"},
    "status": {"lv": "Statuss", "ru": "Статус", "en": "Status"},
    "indicators": {"lv": "Rādītāji", "ru": "Показатели", "en": "Indicators"},
    "narrative": {"lv": "Darba paku apraksts", "ru": "Описание по пакетам работ", "en": "Narrative per work package"},
    "expenditure": {"lv": "Izdevumi", "ru": "Расходы", "en": "Expenditure"},
    "adjustments": {
        "lv": "Korekcijas iepriekšējos periodos",
        "ru": "Корректировки прошлых периодов",
        "en": "Adjustments",
    },
    "evidence": {"lv": "Pierādījumi", "ru": "Подтверждающие документы", "en": "Evidence"},
}


def _tri(key: str) -> str:
    return " · ".join(LABELS[key][lang] for lang in LANGS)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # never a formula
    return value


def report_xlsx(doc: dict[str, Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Report"
    period = doc["period"]
    ws.append([f"{doc['programme']['title']['en']} — {LABELS['report']['en']} {period['id']}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(["period", period["start"], period["end"], "status", doc["status"]])
    totals = doc["expenditure"]["totals"]
    ws.append([])
    for key in ("declared", "eligible", "ineligible", "programme_co_financing", "own_contribution"):
        ws.append([key, float(totals[key])])
    ind = wb.create_sheet("Indicators")
    quarters = sorted({q for i in doc["indicators"] for q in i["quarters"]})
    ind.append(["code", "title_en", "title_lv", "title_ru", "unit", "target", "expected", "actual", "rag", *quarters])
    for i in doc["indicators"]:
        ind.append(
            [
                i["code"],
                _cell(i["title"]["en"]),
                _cell(i["title"]["lv"]),
                _cell(i["title"]["ru"]),
                i["unit"],
                i["target"],
                i["expected"],
                i["actual"],
                i["rag"],
                *[i["quarters"].get(q) for q in quarters],
            ]
        )
    nar = wb.create_sheet("Narrative")
    nar.append(["work_package", *LANGS])
    for wp, text in sorted(doc["narrative"].items()):
        nar.append([wp, *[_cell(text.get(lang, "")) for lang in LANGS]])
    exp = wb.create_sheet("Expenditure")
    columns = [
        "entry_id",
        "partner",
        "category",
        "work_package",
        "activity",
        "spent_on",
        "currency",
        "amount",
        "rate",
        "amount_eur",
        "vat_eur",
        "eligible_eur",
        "ineligible_eur",
        "invoice_ref",
        "corrects",
        "superseded",
        "adjustment_of",
        "counts_eur",
    ]
    exp.append([*columns, "description_en"])
    for line in doc["expenditure"]["lines"]:
        exp.append([_cell(line[c]) for c in columns] + [_cell(line["description"].get("en", ""))])
    adj = wb.create_sheet("Adjustments")
    adj.append(["period_id", "code", "quarter", "approved", "now", "delta"])
    for a in doc["adjustments"]["indicators"]:
        adj.append([a["period_id"], a["code"], a["quarter"], a["approved"], a["now"], a["delta"]])
    ev = wb.create_sheet("Evidence")
    ev.append(["kind", "id", "ref"])
    for e in doc["evidence"]:
        ev.append([e["kind"], _cell(e["id"]), _cell(e["ref"])])
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class FontMissing(RuntimeError):
    pass


def report_pdf(doc: dict[str, Any], font: Path | None) -> bytes:
    if font is None:
        raise FontMissing("no Unicode TTF font found (install fonts-dejavu-core or set LSG_REPORT_FONT_PATH)")
    pdf = FPDF(format="A4")
    period = doc["period"]
    pdf.set_title(f"{LABELS['report']['en']} {period['id']}")
    pdf.set_creator("LSG Events — reporting")
    pdf.add_font("Body", "", str(font))
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf.add_font("Body", "B", str(bold if bold.is_file() else font))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def text(value: str, size: float = 9, style: str = "", gap: float = 1) -> None:
        pdf.set_font("Body", style, size)
        pdf.multi_cell(width, size * 0.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    for lang in LANGS:
        text(doc["programme"]["title"][lang], 12, "B")
    text(f"{_tri('report')} {period['id']}: {period['start']} – {period['end']}", 14, "B", 3)
    text(f"{_tri('status')}: {doc['status']}")
    text(_tri("indicators"), 11, "B", 2)
    for i in doc["indicators"]:
        text(
            f"{i['code']} — {i['title']['lv']} / {i['title']['ru']} / {i['title']['en']}: "
            f"{i['actual']} / {i['target']} {i['unit']} ({i['rag']})",
            8,
        )
    text(_tri("narrative"), 11, "B", 2)
    for wp, narrative in sorted(doc["narrative"].items()):
        title = WORK_PACKAGES[wp].title if wp in WORK_PACKAGES else dict.fromkeys(LANGS, wp)
        text(f"{wp} {title['lv']} · {title['ru']} · {title['en']}", 9, "B")
        for lang in LANGS:
            text(f"[{lang}] {narrative.get(lang, '')}", 8)
    text(_tri("expenditure"), 11, "B", 2)
    totals = doc["expenditure"]["totals"]
    text(", ".join(f"{k}: {v} EUR" for k, v in totals.items()))
    for cat, cell in doc["expenditure"]["by_category"].items():
        titles = CATEGORY_TITLES.get(cat, dict.fromkeys(LANGS, cat))
        text(f"{titles['lv']} / {titles['ru']} / {titles['en']}: {cell['declared']} ({cell['eligible']}) EUR", 8)
    for line in doc["expenditure"]["lines"]:
        mark = (
            " [superseded]"
            if line["superseded"]
            else (f" [adj. {line['adjustment_of']}]" if line["adjustment_of"] else "")
        )
        text(
            f"{line['entry_id']} {line['spent_on']} {line['partner']} {line['category']} {line['work_package']} "
            f"{line['amount']} {line['currency']} = {line['amount_eur']} EUR, eligible {line['eligible_eur']}{mark} — "
            f"{line['description'].get('lv', '')} / {line['description'].get('ru', '')}",
            8,
        )
    text(_tri("adjustments"), 11, "B", 2)
    for a in doc["adjustments"]["indicators"]:
        text(f"{a['period_id']} {a['code']} {a['quarter']}: {a['approved']} -> {a['now']}", 8)
    for line in doc["adjustments"]["expenditure"]:
        text(f"{line['adjustment_of']} {line['entry_id']} (corrects {line['corrects']}): {line['counts_eur']} EUR", 8)
    text(_tri("evidence"), 11, "B", 2)
    for e in doc["evidence"]:
        text(f"{e['kind']} {e['id']}: {e['ref']}", 8)
    return bytes(pdf.output())
