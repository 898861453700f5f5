"""CSV sheets (Cyrillic and Latvian diacritics, bad rows), the certificate PDF and the XLSX attendance sheet."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import asyncpg
import pytest
import training_support as ts
from openpyxl import load_workbook
from pypdf import PdfReader

from lsg_local.testing import unique

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

CSV = {"Content-Type": "text/csv"}
NAMES = [
    ("LV", "Ģirts Ņikitins-Šķēle", "vīrietis"),
    ("LV", "Ērika Čaupjonoka", "sieviete"),
    ("LV", "Īva Ļaksa-Žūriņa", "s"),
    ("RU", "Щёголева Юлия Эдуардовна", "ж"),
    ("RU", "Ёлкин Фёдор Ильич", "м"),
    ("RU", "Подъячев Эрнст Йозефович", "мужской"),
]


async def _programme(client: Any) -> tuple[str, dict[str, str]]:
    for place in (ts.PLACE_LV, ts.PLACE_RU):
        assert (await client.post("/v1/places", json=place, headers=ts.E)).status_code == 201
    return await ts.setup_programme(client, unique("sheet"))


def _registration(rows: list[tuple[str, str, str]]) -> str:
    lines = ["ФИО,Роль,Страна,Пол,Код места,Организация"]
    for country, name, gender in rows:
        place = "0681017-01" if country == "LV" else "41633416101"
        lines.append(f'"{name}",староста,{country},{gender},{place},"ООО «Ромашка», д. Заклинье"')
    return "\r\n".join(lines) + "\r\n"


async def test_cyrillic_and_latvian_names_round_trip_exactly(client: Any) -> None:
    pid, sessions = await _programme(client)
    r = await client.post(
        f"/v1/participants/import?programme_id={pid}", content=_registration(NAMES).encode(), headers={**ts.E, **CSV}
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 6
    # The same sheet again registers nobody new (idempotent import).
    again = await client.post(
        f"/v1/participants/import?programme_id={pid}", content=_registration(NAMES).encode(), headers={**ts.E, **CSV}
    )
    assert (again.json()["created"], again.json()["unchanged"], again.json()["enrolled"]) == (0, 6, 0)
    listed = (await client.get(f"/v1/participants?programme_id={pid}", headers=ts.V)).json()
    assert sorted(p["full_name"] for p in listed) == sorted(n for _c, n, _g in NAMES)
    assert all(p["organisation"] == "ООО «Ромашка», д. Заклинье" for p in listed)
    assert {p["full_name"]: p["gender"] for p in listed}["Īva Ļaksa-Žūriņa"] == "female"

    # Sign-in sheets in UTF-16 (Excel's "Unicode text", tabs) with names typed in NFD and other case: they match.
    for label, sid in sessions.items():
        lines = ["Vārds, uzvārds\tParaksts"]
        lines += [
            f"{unicodedata.normalize('NFD', n).upper() if i % 2 else n}\t✓" for i, (_c, n, _g) in enumerate(NAMES)
        ]
        r = await client.post(
            f"/v1/sessions/{sid}/attendance/import", content="\n".join(lines).encode("utf-16"), headers={**ts.E, **CSV}
        )
        assert r.status_code == 200, (label, r.text)
        assert r.json()["recorded"] == 6
    progress = (await client.get(f"/v1/programmes/{pid}/participants", headers=ts.V)).json()
    assert all(p["currently_complete"] for p in progress)
    assert sorted(p["full_name"] for p in progress) == sorted(n for _c, n, _g in NAMES)  # not overwritten

    # The XLSX attendance sheet carries the names exactly.
    r = await client.get(f"/v1/programmes/{pid}/attendance.xlsx?lang=ru", headers=ts.V)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][1] == "ФИО"
    assert sorted(row[1] for row in rows[2:]) == sorted(n for _c, n, _g in NAMES)
    session_cols = [i for i, h in enumerate(rows[1]) if h and h.startswith("M") and "-" in h]
    assert len(session_cols) == 5
    assert all(row[i] == 1 for row in rows[2:] for i in session_cols)
    assert all(row[-2] == "да" for row in rows[2:])

    # The certificate PDF prints the name in its own script.
    for person in progress:
        r = await client.get(f"/v1/programmes/{pid}/participants/{person['id']}/certificate.pdf?lang=lv", headers=ts.V)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
        assert person["full_name"] in text, text
        assert "Apliecība" in text
        assert "Сертификат" in text


async def test_sheet_with_three_bad_rows(client: Any, database_url: str) -> None:
    pid, _sessions = await _programme(client)
    r = await client.post(
        f"/v1/participants/import?programme_id={pid}", content=_registration(NAMES).encode(), headers={**ts.E, **CSV}
    )
    assert r.status_code == 200, r.text
    sheet = "\n".join(
        [
            "Nr.;Vārds, uzvārds;Modulis;Datums;Klātesošs",
            f"1;Ģirts Ņikitins-Šķēle;M1;{ts.DAY1:%d.%m.%Y};jā",
            f"2;Jānis Nezināmais;M1;{ts.DAY1:%d.%m.%Y};jā",  # row 3: unknown participant
            f"3;Ērika Čaupjonoka;M1;{ts.DAY1:%d.%m.%Y};varbūt",  # row 4: present is not yes/no
            f"4;Щёголева Юлия Эдуардовна;M2;{ts.DAY1.isoformat()};да",
            f"5;Ёлкин Фёдор Ильич;M9;{ts.DAY1.isoformat()};да",  # row 6: no such module/session
            f"6;Подъячев Эрнст Йозефович;M2;{ts.DAY1.isoformat()};нет",
        ]
    )
    r = await client.post(f"/v1/programmes/{pid}/attendance/import", content=sheet.encode(), headers={**ts.E, **CSV})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert sorted({e["row"] for e in problem["errors"]}) == [3, 4, 6]
    assert {(e["row"], e["field"]) for e in problem["errors"]} == {(3, "name"), (4, "present"), (6, "session")}
    assert "on_error=skip" in problem["detail"]
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM attendance") == 0  # nothing half-written
        r = await client.post(
            f"/v1/programmes/{pid}/attendance/import?on_error=skip", content=sheet.encode(), headers={**ts.E, **CSV}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["rows"], body["recorded"], body["created"]) == (6, 3, 3)
        assert [e["row"] for e in body["rejected"]] == [3, 4, 6]
        rows = await conn.fetch(
            "SELECT p.full_name, a.present FROM attendance a JOIN participants p ON p.id = a.participant_id"
        )
        assert {(r["full_name"], r["present"]) for r in rows} == {
            ("Ģirts Ņikitins-Šķēle", True),
            ("Щёголева Юлия Эдуардовна", True),
            ("Подъячев Эрнст Йозефович", False),
        }
    finally:
        await conn.close()

    # A registration sheet with 3 bad rows: same behaviour, rows named.
    reg = "\n".join(
        [
            "Name,Role,Country,Gender",
            "Valdis Ābele,elder,LV,male",
            ",elder,LV,male",  # row 3: no name
            "Olga Ivanova,mayor,RU,female",  # row 4: unknown role
            "Ivars Zīle,elder,Estonia,male",  # row 5: unknown country
            "Аркадий Бёме,староста,RU,м",
        ]
    )
    r = await client.post("/v1/participants/import", content=reg.encode(), headers={**ts.E, **CSV})
    assert r.status_code == 422
    assert sorted({e["row"] for e in r.json()["errors"]}) == [3, 4, 5]
    r = await client.post("/v1/participants/import?on_error=skip", content=reg.encode(), headers={**ts.E, **CSV})
    assert r.status_code == 200
    assert (r.json()["created"], [e["row"] for e in r.json()["rejected"]]) == (2, [3, 4, 5])
