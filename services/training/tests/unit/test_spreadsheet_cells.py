"""What goes into a spreadsheet cell: no control character a workbook cannot hold, never a formula (issue 23)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from lsg_training.adapters import documents
from lsg_training.domain.sheets import cell_text

pytestmark = pytest.mark.unit


@given(st.text())
def test_cell_text_is_never_a_formula_nor_holds_illegal_controls(value: str) -> None:
    text = cell_text(value)
    assert not text.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def test_cell_text_keeps_ordinary_text() -> None:
    assert cell_text("Щёголева Юлия") == "Щёголева Юлия"
    assert cell_text("=1+1") == "'=1+1"
    assert cell_text("Bell\x07") == "Bell"


def test_the_attendance_workbook_reads_back_as_text() -> None:
    person = {
        "id": "p1",
        "full_name": '=HYPERLINK("http://x")\x01',
        "ref": "@ref",
        "role": "elder",
        "country": "LV",
        "place": {"country": "LV"},
        "organisation": "-org\x0b",
        "gender": "female",
        "currently_complete": False,
        "completed_on": None,
    }
    body = documents.attendance_xlsx(
        programme={"code": "P", "title": {"lv": "+title", "en": "+title"}},
        modules=[{"code": "M1", "title": {"lv": "=m", "en": "=m"}}],
        sessions=[documents.SheetSession("s1", "M1", date(2026, 1, 1))],
        participants=[person],
        present=set(),
        recorded=set(),
        attended=set(),
        lang="lv",
    )
    wb = load_workbook(io.BytesIO(body))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    row = next(wb.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert row[1:3] == ('\'=HYPERLINK("http://x")', "'@ref")
    assert row[6] == "'-org"
