"""Acceptance: a whole programme on real Kafka + PostgreSQL, attendance shuffled, duplicated and corrected."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections import Counter
from typing import Any

import asyncpg
import pytest
import training_support as ts

from lsg_events import ActivityHeld, TrainingAttended, TrainingCompleted, TrainingSessionHeld, topics
from lsg_local.testing import collect, unique

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def registration_sheet(rows: list[dict[str, str]]) -> bytes:
    """As Excel saves 'CSV UTF-8' in Latvia: a BOM, semicolons, Latvian headings."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        ["Reģ. nr.", "Vārds, uzvārds", "Loma", "Valsts", "Vietas kods", "Dzimums", "Organizācija", "E-pasts"]
    )
    for r in rows:
        writer.writerow([r["ref"], r["name"], r["role"], r["country"], r["place"], r["gender"], r["org"], r["email"]])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def people(prefix: str) -> list[dict[str, str]]:
    rows = []
    for i, name in enumerate(ts.LV_NAMES):
        rows.append(
            {
                "ref": f"{prefix}-LV{i:02d}",
                "name": name,
                "role": ts.ROLES_LV[i % 4],
                "country": "LV",
                "place": "0681017-01",
                "gender": "sieviete" if name.split()[0].endswith("a") else "vīrietis",
                "org": "Ludzas novada pašvaldība",
                "email": f"lv{i}@example.lv",
            }
        )
    for i, name in enumerate(ts.RU_NAMES):
        rows.append(
            {
                "ref": f"{prefix}-RU{i:02d}",
                "name": name,
                "role": ["староста", "староста", "глава", "представитель", "инициативная группа"][i % 5],
                "country": "Россия",
                "place": "41633416101",
                "gender": "ж" if name.split()[0].endswith("а") else "м",
                "org": "Администрация поселения",
                "email": f"ru{i}@example.ru",
            }
        )
    return rows


async def test_programme_35_participants_shuffled_duplicated_corrected(
    client: Any, kafka_bootstrap: str, database_url: str
) -> None:
    code = unique("prog")
    async with collect(kafka_bootstrap, topics.TRAINING) as events:
        for place in (ts.PLACE_LV, ts.PLACE_RU, ts.RIGA):
            assert (await client.post("/v1/places", json=place, headers=ts.E)).status_code == 201
        pid, sessions = await ts.setup_programme(client, code)

        # Register and enrol 35 (17 LV, 18 RU) from a Latvian-headed sheet.
        rows = people(code)
        r = await client.post(
            f"/v1/participants/import?programme_id={pid}",
            content=registration_sheet(rows),
            headers={**ts.E, "Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert (r.json()["created"], r.json()["enrolled"], r.json()["rejected"]) == (35, 35, [])
        enrolled = (await client.get(f"/v1/programmes/{pid}/participants", headers=ts.V)).json()
        assert sorted(p["full_name"] for p in enrolled) == sorted(ts.LV_NAMES + ts.RU_NAMES)
        ids = {p["full_name"]: p["id"] for p in enrolled}
        keys = {p["id"]: p["key"] for p in enrolled}

        # Every participant at every session, one check-in each, plus 30 duplicates, in random order.
        ops: list[tuple[str, str, bool]] = [(s, p, True) for s in sessions.values() for p in ids.values()]
        rng = random.Random(5)
        ops += rng.sample(ops, 30)
        rng.shuffle(ops)
        # The correction: Jānis is wrongly marked absent from M2 in between two check-ins of his (the trainer
        # then fixes it): present -> absent -> present, anywhere in the shuffled stream but in that order.
        janis = ids["Jānis Bērziņš"]
        ops = [op for op in ops if not (op[0] == sessions["M2"] and op[1] == janis)]
        first, wrong, fixed = sorted(rng.sample(range(len(ops)), 3))
        for at, present in ((fixed, True), (wrong, False), (first, True)):  # from the back: indices stay valid
            ops.insert(at, (sessions["M2"], janis, present))
        # Half of day 2 comes as a programme sign-in sheet (module + date, Russian headings, Cyrillic names).
        day2 = {sessions["M3"]: "M3", sessions["M4a"]: "M4", sessions["M4b"]: "M4"}
        names = {v: k for k, v in ids.items()}
        sheet_ops = [op for op in ops if op[0] in (sessions["M3"],) and op[2]]
        single_ops = [op for op in ops if op not in sheet_ops]
        results = Counter()
        for i in range(0, len(single_ops), 8):
            batch = single_ops[i : i + 8]
            # Keep the correction's order: never two of Jānis's M2 records in one concurrent batch.
            replies = []
            for s, p, present in batch:
                if p == janis and s == sessions["M2"]:
                    replies.append(
                        await client.post(
                            f"/v1/sessions/{s}/attendance", json={"participant_id": p, "present": present}, headers=ts.E
                        )
                    )
            replies += await asyncio.gather(
                *[
                    client.post(
                        f"/v1/sessions/{s}/attendance", json={"participant_id": p, "present": present}, headers=ts.E
                    )
                    for s, p, present in batch
                    if not (p == janis and s == sessions["M2"])
                ]
            )
            for reply in replies:
                assert reply.status_code in (200, 201), reply.text
                results[reply.status_code] += 1
        sheet = io.StringIO()
        writer = csv.writer(sheet)
        writer.writerow(["№", "ФИО", "Модуль", "Дата", "Подпись"])
        for n, (s, p, _present) in enumerate(sheet_ops, start=1):
            writer.writerow([n, names[p], day2[s], ts.DAY2.isoformat(), "подписано"])
        r = await client.post(
            f"/v1/programmes/{pid}/attendance/import",
            content=sheet.getvalue().encode(),
            headers={**ts.E, "Content-Type": "text/csv; charset=utf-8"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["rejected"] == []
        assert r.json()["recorded"] == 35  # duplicates in the sheet are one record each

        # One record per (session, participant): the duplicates did not add any.
        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM attendance") == 35 * 5
            assert await conn.fetchval("SELECT count(*) FROM attendance WHERE NOT present") == 0
        finally:
            await conn.close()
        for sid in sessions.values():
            r = await client.post(f"/v1/sessions/{sid}/close", headers=ts.E)
            assert r.status_code == 200, r.text
            assert r.json()["changed"] is True
        assert (await client.post(f"/v1/sessions/{sessions['M1']}/close", headers=ts.E)).json()["changed"] is False

        # Activities: a study tour of 20 RU participants, a conference of 41, a staff exchange of 8.
        extra = []
        for i in range(6):
            country = "RU" if i < 2 else "LV"
            body = {
                "ref": f"{code}-X{i}",
                "full_name": f"Dalībnieks Nr. {i} Ščūkins" if country == "LV" else f"Участник №{i} Щукин",
                "role": "municipal_representative" if i % 2 else "staff",
                "country": country,
                "gender": "female" if i % 2 else "male",
                "place": ts.PLACE_RU if country == "RU" else ts.RIGA,
            }
            r = await client.post("/v1/participants", json=body, headers=ts.E)
            assert r.status_code == 201, r.text
            extra.append(r.json())
        ru_ids = [p["id"] for p in enrolled if p["country"] == "RU"] + [p["id"] for p in extra if p["country"] == "RU"]
        assert len(ru_ids) == 20
        everyone = list(ids.values()) + [p["id"] for p in extra]
        assert len(everyone) == 41
        staff = [p["id"] for p in enrolled if p["country"] == "LV"][:4] + ru_ids[:4]
        activities = {
            "study_tour": (ru_ids, ts.loc("Mācību brauciens uz Latviju", "Учебная поездка в Латвию", "Study tour")),
            "conference": (
                everyone,
                ts.loc("Labās prakses konference", "Конференция лучших практик", "Best-practice conference"),
            ),
            "staff_exchange": (staff, ts.loc("Darbinieku apmaiņa", "Обмен сотрудниками", "Staff exchange")),
        }
        activity_ids = {}
        for kind, (members, title) in activities.items():
            r = await client.post(
                "/v1/activities",
                json={
                    "id": f"{code}-{kind}",
                    "kind": kind,
                    "title": title,
                    "starts_on": ts.DAY1.isoformat(),
                    "ends_on": ts.DAY2.isoformat(),
                    "place_code": "0010000",
                    "programme_id": pid,
                },
                headers=ts.E,
            )
            assert r.status_code == 201, r.text
            activity_ids[kind] = r.json()["id"]
            half = len(members) // 2
            # Recorded in two parts, the second overlapping the first: participation is counted once.
            for part in (members[: half + 3], members[half:]):
                r = await client.post(
                    f"/v1/activities/{activity_ids[kind]}/participants", json={"participant_ids": part}, headers=ts.E
                )
                assert r.status_code == 200, r.text
            assert r.json()["participants"] == len(members)
            r = await client.post(f"/v1/activities/{activity_ids[kind]}/held", headers=ts.E)
            assert r.status_code == 200, r.text
            assert r.json()["participants"] == len(members)

        # Everything the service stored for publication reaches consumers; then count what they saw.
        conn = await asyncpg.connect(database_url)
        try:
            stored = Counter(dict(await conn.fetch("SELECT event_type, count(*) FROM lsg_outbox GROUP BY 1")))
        finally:
            await conn.close()

        def ours(event_type: str) -> list[Any]:
            out = []
            for e in events.events(event_type):
                d = e.data
                if getattr(d, "programme_id", None) == pid:
                    out.append(e)
            return out

        await events.wait_for(
            lambda c: all(len(ours(t)) >= n for t, n in stored.items()), timeout=60, message=f"all of {stored}"
        )
        await asyncio.sleep(1.0)  # anything extra would show up now

    completed = ours(TrainingCompleted.event_type)
    assert len(completed) == 35
    assert len({e.data.participant_key for e in completed}) == 35
    assert {e.data.participant_key for e in completed} == set(keys.values())
    assert all(e.data.modules == ["M1", "M2", "M3", "M4"] for e in completed)
    assert Counter(e.data.country for e in completed) == {"LV": 17, "RU": 18}

    attended = ours(TrainingAttended.event_type)
    latest: dict[tuple[str, str], Any] = {}
    for e in sorted(attended, key=lambda e: e.data.revision):
        latest[(e.data.participant_key, e.data.module_code)] = e.data
    assert len(latest) == 35 * 4
    assert all(not d.withdrawn for d in latest.values())
    withdrawn = [e for e in attended if e.data.withdrawn]
    # Each withdrawal (Jānis's M2, if it came after his M2 was told) is followed by one re-attendance.
    assert len(attended) == 140 + 2 * len(withdrawn)
    assert all(e.data.participant_key == keys[janis] and e.data.module_code == "M2" for e in withdrawn)
    print(f"withdrawn training.attended told: {len(withdrawn)}; training.attended events in all: {len(attended)}")
    m4 = [e.data for e in attended if e.data.module_code == "M4" and not e.data.withdrawn]
    assert {d.session_id for d in m4} <= {sessions["M4a"], sessions["M4b"]}
    assert Counter(d.role for d in latest.values() if d.module_code == "M1")["elder"] == 8

    held = ours(TrainingSessionHeld.event_type)
    assert sorted(e.data.session_id for e in held) == sorted(sessions.values())
    assert all(e.data.attendees == 35 and e.data.trainers == 2 for e in held)

    by_kind = {e.data.kind: e.data for e in ours(ActivityHeld.event_type)}
    assert len(ours(ActivityHeld.event_type)) == 3
    tour, conference, exchange = by_kind["study_tour"], by_kind["conference"], by_kind["staff_exchange"]
    assert tour.participants == 20
    assert {c.country for c in tour.breakdown} == {"RU"}
    assert sum(c.count for c in tour.breakdown) == 20
    assert conference.participants == 41
    per_country = Counter()
    for c in conference.breakdown:
        per_country[c.country] += c.count
    assert per_country == {"LV": 17 + 4, "RU": 18 + 2}
    assert sum(c.count for c in conference.breakdown if c.role == "elder") == 8
    assert exchange.participants == 8

    # Privacy: no name, e-mail or internal id travels in any event of this programme.
    raw = b"".join(r.value or b"" for r in events.records).decode()
    for name in [*ts.LV_NAMES, *ts.RU_NAMES]:
        assert name not in raw
    assert "@example" not in raw
    assert janis not in raw
