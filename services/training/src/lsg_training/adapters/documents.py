"""Documents for people: the completion certificate (PDF) and the programme attendance sheet (XLSX).

The PDF embeds a Unicode TrueType font (DejaVu Sans by default) so names in Latin with Latvian diacritics and
in Cyrillic print as written; PDF core fonts are Latin-1 only.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from lsg_training.domain.sheets import cell_text

# fontTools logs every glyph of every subset at INFO: not worth a line per certificate.
logging.getLogger("fontTools").setLevel(logging.WARNING)

LABELS: dict[str, dict[str, str]] = {
    "certificate": {"lv": "Apliecība", "ru": "Сертификат", "en": "Certificate"},
    "awarded": {
        "lv": "apliecina, ka",
        "ru": "подтверждает, что",
        "en": "certifies that",
    },
    "completed": {
        "lv": "ir sekmīgi apguvis(-usi) mācību programmu",
        "ru": "успешно завершил(а) учебную программу",
        "en": "has successfully completed the training programme",
    },
    "modules": {"lv": "Moduļi", "ru": "Модули", "en": "Modules"},
    "hours": {"lv": "st.", "ru": "ч.", "en": "h"},
    "date": {"lv": "Datums", "ru": "Дата", "en": "Date"},
    "number": {"lv": "Nr.", "ru": "№", "en": "No."},
    "no": {"lv": "Nr.", "ru": "№", "en": "No."},
    "name": {"lv": "Vārds, uzvārds", "ru": "ФИО", "en": "Name"},
    "ref": {"lv": "Reģ. nr.", "ru": "Рег. №", "en": "Ref."},
    "role": {"lv": "Loma", "ru": "Роль", "en": "Role"},
    "country": {"lv": "Valsts", "ru": "Страна", "en": "Country"},
    "place": {"lv": "Vieta", "ru": "Место", "en": "Place"},
    "organisation": {"lv": "Organizācija", "ru": "Организация", "en": "Organisation"},
    "gender": {"lv": "Dzimums", "ru": "Пол", "en": "Gender"},
    "attended": {"lv": "Apmeklēts", "ru": "Посещён", "en": "Attended"},
    "complete": {"lv": "Pabeigts", "ru": "Завершено", "en": "Completed"},
    "completed_on": {"lv": "Pabeigšanas datums", "ru": "Дата завершения", "en": "Completed on"},
    "yes": {"lv": "jā", "ru": "да", "en": "yes"},
    "no_": {"lv": "nē", "ru": "нет", "en": "no"},
    "summary": {"lv": "Kopsavilkums", "ru": "Сводка", "en": "Summary"},
    "attendance": {"lv": "Apmeklējums", "ru": "Посещаемость", "en": "Attendance"},
    "participants": {"lv": "Dalībnieki", "ru": "Участники", "en": "Participants"},
    "sessions": {"lv": "Nodarbības", "ru": "Занятия", "en": "Sessions"},
}


def label(key: str, lang: str) -> str:
    return LABELS[key].get(lang, LABELS[key]["en"])


class FontMissing(Exception):
    pass


@dataclass(frozen=True)
class CertificateData:
    number: str
    full_name: str
    programme_title: dict[str, str]
    modules: Sequence[tuple[str, dict[str, str], float]]  # code, title, hours
    completed_on: date
    issued_on: date


def certificate_pdf(data: CertificateData, lang: str, font: Path | None) -> bytes:
    if font is None:
        raise FontMissing("no Unicode TTF font found (install fonts-dejavu-core or set LSG_TRAINING_FONT_PATH)")
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"{label('certificate', 'en')} {data.number}")
    pdf.set_creator("LSG Events — training")
    pdf.add_font("Body", "", str(font))
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf.add_font("Body", "B", str(bold if bold.is_file() else font))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float, style: str = "", gap: float = 2) -> None:
        pdf.set_font("Body", style, size)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    pdf.ln(8)
    titles = " · ".join(LABELS["certificate"][k] for k in ("lv", "ru", "en"))
    line(titles, 28, "B", 6)
    line(label("awarded", lang), 14)
    line(data.full_name, 26, "B", 4)
    line(label("completed", lang), 14)
    line(f"«{data.programme_title.get(lang) or data.programme_title['en']}»", 18, "B", 6)
    pdf.set_font("Body", "B", 12)
    pdf.cell(width, 7, label("modules", lang), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Body", "", 11)
    for code, title, hours in data.modules:
        text = f"{code} — {title.get(lang) or title['en']} ({hours:g} {label('hours', lang)})"
        pdf.multi_cell(width, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.set_font("Body", "", 11)
    pdf.cell(
        width,
        6,
        f"{label('date', lang)}: {data.completed_on.isoformat()}    {label('number', lang)} {data.number}",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


@dataclass(frozen=True)
class SheetSession:
    session_id: str
    module_code: str
    held_on: date


def _append(ws: Worksheet, row: Sequence[Any]) -> None:
    """Append a row, every text made safe for a cell (no illegal control character, never a formula)."""
    ws.append([cell_text(v) if isinstance(v, str) else v for v in row])


def attendance_xlsx(
    *,
    programme: dict[str, Any],
    modules: Sequence[dict[str, Any]],
    sessions: Sequence[SheetSession],
    participants: Sequence[dict[str, Any]],
    present: set[tuple[str, str]],
    recorded: set[tuple[str, str]],
    attended: set[tuple[str, str]],
    lang: str,
) -> bytes:
    """One row per enrolled participant: present (1) / absent (0) / blank per session, modules, completion."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = label("attendance", lang)[:31]
    title = programme["title"].get(lang) or programme["title"]["en"]
    _append(ws, [f"{title} ({programme['code']})"])
    ws["A1"].font = Font(bold=True, size=13)
    fixed = ["no", "name", "ref", "role", "country", "place", "organisation", "gender"]
    headings = [label(k, lang) for k in fixed]
    headings += [f"{s.module_code} {s.held_on.isoformat()}" for s in sessions]
    headings += [f"{label('attended', lang)}: {m['code']}" for m in modules]
    headings += [label("complete", lang), label("completed_on", lang)]
    _append(ws, headings)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for n, p in enumerate(participants, start=1):
        pid = str(p["id"])
        place = p["place"]
        unit = place.get("settlement") or place.get("territory") or place.get("municipality")
        place_name = unit["name"].get(lang) if unit else place["country"]
        row: list[Any] = [
            n,
            p["full_name"],
            p["ref"],
            p["role"],
            p["country"],
            place_name,
            p["organisation"],
            p["gender"],
        ]
        for s in sessions:
            key = (s.session_id, pid)
            row.append(1 if key in present else (0 if key in recorded else None))
        row += [1 if (m["code"], pid) in attended else 0 for m in modules]
        row += [label("yes", lang) if p["currently_complete"] else label("no_", lang), p["completed_on"]]
        _append(ws, row)
    ws.freeze_panes = "C3"
    widths = {1: 5, 2: 32, 3: 10, 4: 22, 5: 8, 6: 22, 7: 28, 8: 12}
    for col in range(1, len(headings) + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, 14)
    summary = wb.create_sheet(label("summary", lang)[:31])
    _append(summary, [label("participants", lang), len(participants)])
    _append(summary, [label("complete", lang), sum(1 for p in participants if p["currently_complete"])])
    _append(summary, [label("sessions", lang), len(sessions)])
    for m in modules:
        count = sum(1 for p in participants if (m["code"], str(p["id"])) in attended)
        _append(
            summary, [f"{label('attended', lang)}: {m['code']} — {m['title'].get(lang) or m['title']['en']}", count]
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
