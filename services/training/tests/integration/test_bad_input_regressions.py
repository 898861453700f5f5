"""Issue 23's defects in this service: each answered with a 4xx problem naming the field, never a 500."""

from __future__ import annotations

import io
from typing import Any

import pytest
import training_support as ts
from openpyxl import load_workbook

from lsg_local.testing import unique

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]


def _fields(r: Any) -> set[str]:
    return {str(e.get("field")) for e in r.json().get("errors", [])}


async def test_nul_in_participant_and_place_names_is_refused_naming_the_field(client: Any) -> None:
    person = {"full_name": "Līga\x00Ozola", "role": "elder", "country": "LV", "place": ts.PLACE_LV}
    r = await client.post("/v1/participants", json=person, headers=ts.E)
    assert r.status_code == 422, r.text
    assert "full_name" in _fields(r)
    pid = (await client.post("/v1/participants", json={**person, "full_name": "Līga Ozola"}, headers=ts.E)).json()
    r = await client.patch(f"/v1/participants/{pid['id']}", json={"organisation": "x\x00"}, headers=ts.E)
    assert r.status_code == 422, r.text
    assert "organisation" in _fields(r)

    bad_unit = {"code": "0681000", "name": ts.loc("Ludzas\x00novads", "Лудзенский край", "Ludza")}
    r = await client.post("/v1/places", json={"country": "LV", "municipality": bad_unit}, headers=ts.E)
    assert r.status_code == 422, r.text
    assert any(f.startswith("municipality") for f in _fields(r)), r.text
    r = await client.post(
        "/v1/participants",
        json={**person, "full_name": "Jānis", "place": {**ts.PLACE_LV, "municipality": bad_unit}},
        headers=ts.E,
    )
    assert r.status_code == 422, r.text
    assert any(f.startswith("place") for f in _fields(r)), r.text


async def test_participant_paging_is_bounded(client: Any) -> None:
    for query in ("offset=9223372036854775808", "offset=99999999999999999999", "limit=9223372036854775808"):
        r = await client.get(f"/v1/participants?{query}", headers=ts.V)
        assert r.status_code == 422, (query, r.text)
        assert _fields(r) & {"query:offset", "query:limit"}, r.text


async def test_activity_with_an_unknown_or_empty_programme(client: Any) -> None:
    act = {
        "kind": "study_tour",
        "title": ts.loc("a", "б", "c"),
        "starts_on": "2099-01-01",
        "ends_on": "2099-01-03",
        "place": ts.RIGA,
    }
    r = await client.post("/v1/activities", json={**act, "programme_id": ""}, headers=ts.E)
    assert r.status_code == 422, r.text
    assert "programme_id" in _fields(r)
    r = await client.post("/v1/activities", json={**act, "programme_id": "no-such-programme"}, headers=ts.E)
    assert r.status_code == 404, r.text
    assert "programme_id" in _fields(r)


async def test_completion_rule_with_an_empty_module_list(client: Any) -> None:
    pid, _sessions = await ts.setup_programme(client, unique("rule"))
    person = {"full_name": "Anna Kalniņa", "role": "elder", "country": "LV", "place": ts.PLACE_LV}
    r = await client.post(f"/v1/participants?programme_id={pid}", json=person, headers=ts.E)
    assert r.status_code == 201, r.text
    r = await client.put(f"/v1/programmes/{pid}/completion-rule", json={"required_modules": []}, headers=ts.A)
    assert r.status_code == 422, r.text
    assert "required_modules" in _fields(r)
    r = await client.post(
        "/v1/programmes",
        json=ts.programme_body(unique("p"), completion_rule={"required_modules": []}),
        headers=ts.A,
    )
    assert r.status_code == 422, r.text
    assert "completion_rule.required_modules" in _fields(r)


async def test_attendance_sheet_with_control_characters_and_formulas(client: Any) -> None:
    pid, _sessions = await ts.setup_programme(client, unique("xlsx"))
    names = ["Bell\x07Name Vertical\x0bTab", '=HYPERLINK("http://evil","x")', "+1 Plus", "-2 Minus", "@SUM(A1)"]
    for i, name in enumerate(names):
        body = {
            "full_name": name,
            "role": "elder",
            "country": "LV",
            "place": ts.PLACE_LV,
            "organisation": "=cmd|' /C calc'!A0" if i == 0 else None,
        }
        r = await client.post(f"/v1/participants?programme_id={pid}", json=body, headers=ts.E)
        assert r.status_code == 201, r.text
    r = await client.get(f"/v1/programmes/{pid}/attendance.xlsx", headers=ts.V)
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no cell may be a formula"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t[:1] in ("=", "+", "-", "@", "\t", "\r")], texts
    assert not [t for t in texts if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in t)], texts
    written = sorted(row[1] for row in ws.iter_rows(min_row=3, values_only=True))
    assert '\'=HYPERLINK("http://evil","x")' in written
    assert "'+1 Plus" in written
    assert any(w.startswith("Bell") and "Name" in w for w in written)
