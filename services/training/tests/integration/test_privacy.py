"""Issue 30 on real PostgreSQL (a main database and two standing for Latvia and Russia) and Kafka: residency,
the access export, erasure through the fan-out event (figures unchanged, the person unrecoverable from every table,
event and log line the test can read), and the retention job on a moved clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import training_support as ts

from lsg_events import TrainingAttended, TrainingCompleted, topics
from lsg_events.privacy import PersonErasureCompleted
from lsg_local import testing
from lsg_local.testing import collect, dump_database, running_app, unique, wait_ready
from lsg_shared import admin, privacy
from lsg_training.entrypoints.app import create_app, run_retention

pytestmark = pytest.mark.integration

SUBJECT_KEY = "training-test-privacy-subject-key-0123456789"
JANIS = {
    "ref": "LV-PRIV-01",
    "full_name": "Jānis Bērziņš-Privāts",
    "email": "janis.privats@example.lv",
    "phone": "+371 2900 1122",
    "organisation": "Pildas pagasta pārvalde",
    "role": "elder",
    "country": "LV",
    "gender": "male",
    "place_code": "0681017-01",
}
YULIA = {
    "ref": "RU-PRIV-01",
    "full_name": "Щёголева Юлия Эдуардовна",
    "email": "yulia.shch@example.ru",
    "phone": "+7 911 555 44 33",
    "organisation": "Администрация Заклинского поселения",
    "role": "elder",
    "country": "RU",
    "gender": "female",
    "place_code": "41633416101",
}
OTHER = {
    "full_name": "Līga Ozoliņa",
    "email": "liga@example.lv",
    "role": "other",
    "country": "LV",
    "place_code": "0681017-01",
}
MARKERS = (
    "Jānis Bērziņš-Privāts",
    "janis.privats",
    "2900 1122",
    "29001122",
    "Pildas pagasta",
    "LV-PRIV-01",
    "Щёголева",
    "yulia.shch",
    "555 44 33",
    "5554433",
    "Заклинского",
    "RU-PRIV-01",
)


@pytest.fixture
async def country_databases(infra: testing.Infra) -> AsyncIterator[dict[str, str]]:
    lv = await testing.create_database(infra.admin_dsn)
    ru = await testing.create_database(infra.admin_dsn)
    try:
        yield {"LV": lv, "RU": ru}
    finally:
        await testing.drop_database(infra.admin_dsn, lv)
        await testing.drop_database(infra.admin_dsn, ru)


def figures(events: Any, pid: str) -> dict[str, Any]:
    attended = [e.data for e in events.events(TrainingAttended.event_type) if e.data.programme_id == pid]
    completed = [e.data for e in events.events(TrainingCompleted.event_type) if e.data.programme_id == pid]
    return {
        "attended": sorted((a.participant_key, a.module_code, a.withdrawn, a.country, a.role) for a in attended),
        "completed": sorted((c.participant_key, c.country, c.role, c.gender) for c in completed),
    }


async def test_residency_access_erasure_and_retention(
    database_url: str, kafka_bootstrap: str, country_databases: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = ts.settings(
        database_url,
        kafka_bootstrap,
        training_personal_database_url_lv=country_databases["LV"],
        training_personal_database_url_ru=country_databases["RU"],
        privacy_subject_key=SUBJECT_KEY,
        training_participant_retention_days=30,
        audit_identity_retention_days=90,
    )
    app = create_app(settings)
    rt = app.state.runtime
    code = unique("priv")
    async with running_app(app) as client, collect(kafka_bootstrap, topics.TRAINING, topics.PRIVACY) as events:
        await wait_ready(client)
        for place in (ts.PLACE_LV, ts.PLACE_RU):
            assert (await client.post("/v1/places", json=place, headers=ts.E)).status_code == 201
        pid, sessions = await ts.setup_programme(client, code)
        people = {}
        for body in (JANIS, YULIA, OTHER):
            r = await client.post(f"/v1/participants?programme_id={pid}", json=body, headers=ts.E)
            assert r.status_code == 201, r.text
            people[body["full_name"]] = r.json()
            assert r.json()["full_name"] == body["full_name"]  # read back from the country's database
        janis, yulia = people[JANIS["full_name"]], people[YULIA["full_name"]]
        # The same registration again finds the person (the identity is looked up in its sealed form).
        again = await client.post("/v1/participants", json=JANIS, headers=ts.E)
        assert again.status_code == 200
        assert again.json()["id"] == janis["id"]

        # Residency: personal fields in the person's country, pseudonymous facts in the main database.
        main, lv, ru = (
            await dump_database(database_url),
            await dump_database(country_databases["LV"]),
            await dump_database(country_databases["RU"]),
        )
        for marker in MARKERS:
            assert marker not in main, marker
        assert JANIS["full_name"] in lv
        assert JANIS["email"] in lv
        assert YULIA["full_name"] not in lv
        assert YULIA["full_name"] in ru
        assert YULIA["email"] in ru
        assert JANIS["full_name"] not in ru
        assert janis["key"] in main
        assert yulia["key"] in main

        # Attendance: a sign-in sheet by name (matched among names read back), check-ins by ref (sealed lookup).
        sheet = f"ФИО;Подпись\n{YULIA['full_name']};✓\n{JANIS['full_name']};✓\n{OTHER['full_name']};✓\n"
        r = await client.post(
            f"/v1/sessions/{sessions['M1']}/attendance/import",
            content=sheet.encode(),
            headers={**ts.E, "Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["rejected"] == [], r.text
        for label in ("M2", "M3", "M4a", "M4b"):
            for ref in (JANIS["ref"], YULIA["ref"]):
                r = await client.post(f"/v1/sessions/{sessions[label]}/attendance", json={"ref": ref}, headers=ts.E)
                assert r.status_code in (200, 201), r.text
        listed = (await client.get(f"/v1/sessions/{sessions['M1']}/attendance", headers=ts.V)).json()
        assert {JANIS["full_name"], YULIA["full_name"]} <= {a["full_name"] for a in str_rows(listed)}
        await events.wait_for(
            lambda c: len([e for e in c.events(TrainingCompleted.event_type) if e.data.programme_id == pid]) == 2,
            message="two completions",
        )
        before = figures(events, pid)
        enrolled_before = (await client.get(f"/v1/programmes/{pid}/participants", headers=ts.V)).json()

        # Access export: everything held, labelled lv/ru/en, with where it is stored.
        tokens = privacy.subject_tokens(SUBJECT_KEY, email=JANIS["email"])
        r = await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=ts.A)
        assert r.status_code == 200, r.text
        export = r.json()
        [person] = export["participants"]
        fields = person["fields"]
        assert fields["full_name"]["value"] == JANIS["full_name"]
        assert fields["full_name"]["label"] == {"lv": "Vārds, uzvārds", "ru": "ФИО", "en": "Full name"}
        for name in ("email", "phone", "organisation", "ref"):
            assert fields[name]["value"] == JANIS[name]
        stored = person["stored_in"]["value"]
        assert stored["personal_fields"]["country"] == "LV"
        assert stored["personal_fields"]["database"].endswith(country_databases["LV"].rsplit("/", 1)[1])
        assert stored["pseudonymous_facts"]["database"].endswith(database_url.rsplit("/", 1)[1])
        assert [e["programme_id"] for e in person["enrolments"]["value"]] == [pid]
        assert len(person["attendance"]["value"]) == 5
        assert {a["source"] for a in person["attendance"]["value"]} == {"sheet", "check-in"}
        assert person["certificates"]["value"]
        assert person["events"]["value"]["key"] == janis["key"]

        await app.state.audit.flush()  # audit rows are written in batches, off the request's path
        # Erasure through the fan-out: one request (tokens only) for both people and the editor's login.
        request = admin.erasure_request(
            SUBJECT_KEY,
            email=JANIS["email"],
            local=[f"training={yulia['id']}"],
            login="editor",
            request_id=unique("er"),
        )
        assert JANIS["email"] not in request.model_dump_json()
        await admin.person_erase(kafka_at(kafka_bootstrap), request)
        await events.wait_for(
            lambda c: any(mine(e.data, request.request_id) for e in c.events(PersonErasureCompleted.event_type)),
            message="erasure confirmed",
        )
        # Only training's confirmation: another service's consumer running on the shared broker confirms too.
        [done] = [e.data for e in events.events(PersonErasureCompleted.event_type) if mine(e.data, request.request_id)]
        assert done.service == "training"
        assert done.erased["participants"] == 2
        assert done.erased["personal_records"] == 2
        assert done.erased["audit_rows"] > 0

        # Figures unchanged: no event was told about it, the enrolled list's progress is the same.
        assert figures(events, pid) == before
        enrolled_after = (await client.get(f"/v1/programmes/{pid}/participants", headers=ts.V)).json()
        assert sorted((p["key"], p["currently_complete"], p["modules_attended"]) for p in enrolled_after) == sorted(
            (p["key"], p["currently_complete"], p["modules_attended"]) for p in enrolled_before
        )
        # Unrecoverable: no table (main and both countries), event or log line holds any of it.
        everything = "\n".join(
            [
                await dump_database(database_url),
                await dump_database(country_databases["LV"]),
                await dump_database(country_databases["RU"]),
            ]
        )
        published = b"\n".join(r.value or b"" for r in events.records).decode()
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for marker in MARKERS:
            assert marker not in everything, marker
            assert marker not in published, marker
            assert marker not in logged, marker
        conn = await asyncpg.connect(database_url)
        try:
            erasures = await conn.fetch("SELECT * FROM privacy_erasures WHERE request_id = $1", request.request_id)
            assert len(erasures) == 1
            assert erasures[0]["requested"] == "event"
            assert janis["id"] not in str(dict(erasures[0]))
            assert janis["key"] not in str(dict(erasures[0]))
            assert await conn.fetchval("SELECT count(*) FROM lsg_audit_log WHERE subject = 'editor'") == 0
        finally:
            await conn.close()
        r = await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=ts.A)
        assert r.json()["participants"] == []
        cert = await client.get(f"/v1/programmes/{pid}/participants/{janis['id']}/certificate.pdf", headers=ts.V)
        assert cert.status_code == 409

        # The same request again (a redelivery, or the operator repeating it) erases nothing more.
        await admin.person_erase(kafka_at(kafka_bootstrap), request)

        # A registration whose main transaction failed after placing the personal fields leaves an orphan row in
        # the country's database: the retention job sweeps it once it is settled (an hour old).
        lvconn = await asyncpg.connect(country_databases["LV"])
        try:
            await lvconn.execute(
                "INSERT INTO participant_personal (id, identity, full_name, updated_at) "
                "VALUES (gen_random_uuid(), 'ref:orphan', 'Orphan Bārenis', now() - interval '2 hours')"
            )
        finally:
            await lvconn.close()

        # Retention on a moved clock: the programme ended on DAY2; 30 days later Līga is still kept, 31 not.
        ended = ts.DAY2
        counts = await run_retention(rt, settings, today=ended + timedelta(days=30))
        assert counts["participants"] == 0
        assert counts["orphaned_personal_records"] == 1
        lv_now = await dump_database(country_databases["LV"])
        assert OTHER["full_name"] in lv_now
        assert "Orphan Bārenis" not in lv_now
        counts = await run_retention(rt, settings, today=ended + timedelta(days=31))
        assert counts["participants"] == 1
        assert counts["personal_records"] == 1
        assert OTHER["full_name"] not in await dump_database(country_databases["LV"]) + await dump_database(
            database_url
        )
        # ... and the audit log's identities 90 days on (every request's row written first: the writer batches them
        # off the request's path, and one landing after the job would still hold its identity).
        await app.state.audit.flush()
        counts = await run_retention(rt, settings, today=ended + timedelta(days=400))
        assert counts["audit_rows"] > 0
        conn = await asyncpg.connect(database_url)
        try:
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM lsg_audit_log WHERE client_addr IS NOT NULL OR user_agent IS NOT NULL"
                    " OR subject NOT IN ('anonymised', 'erased')"
                )
                == 0
            )
        finally:
            await conn.close()
        assert figures(events, pid) == before


def mine(data: Any, request_id: str) -> bool:
    return isinstance(data, PersonErasureCompleted) and data.request_id == request_id and data.service == "training"


def str_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if isinstance(r, dict)]


def kafka_at(bootstrap: str) -> Any:
    from lsg_shared.settings import KafkaSettings

    return KafkaSettings(bootstrap=bootstrap)


async def test_admin_route_erases_by_participant_id_without_residency(client: Any, database_url: str) -> None:
    """No per-country setting: everything in the main database as before; the admin route erases by id."""
    assert (await client.post("/v1/places", json=ts.PLACE_LV, headers=ts.E)).status_code == 201
    r = await client.post("/v1/participants", json=JANIS, headers=ts.E)
    assert r.status_code == 201, r.text
    person = r.json()
    assert JANIS["full_name"] in await dump_database(database_url)  # where it always was
    body = {"local_ids": [person["id"]]}
    assert (await client.post("/v1/privacy/erasure-requests", json=body, headers=ts.E)).status_code == 403
    assert (await client.post("/v1/privacy/access", json=body, headers=ts.V)).status_code == 403
    assert (await client.post("/v1/privacy/access", json={}, headers=ts.A)).status_code == 422
    bad = {"subject_tokens": [JANIS["email"]]}  # a request never names the person
    assert (await client.post("/v1/privacy/access", json=bad, headers=ts.A)).status_code == 422
    export = (await client.post("/v1/privacy/access", json=body, headers=ts.A)).json()
    [found] = export["participants"]
    assert found["stored_in"]["value"]["personal_fields"]["kind"] == "main_database"
    r = await client.post("/v1/privacy/erasure-requests", json={**body, "request_id": "er-route-1"}, headers=ts.A)
    assert r.status_code == 200, r.text
    assert r.json()["erased"]["participants"] == 1
    again = await client.post("/v1/privacy/erasure-requests", json={**body, "request_id": "er-route-1"}, headers=ts.A)
    assert again.json()["erased"]["participants"] == 0
    text = await dump_database(database_url)
    for marker in MARKERS[:6]:
        assert marker not in text, marker
    kept = (await client.get(f"/v1/participants/{person['id']}", headers=ts.V)).json()
    assert (kept["key"], kept["country"], kept["role"], kept["full_name"]) == (person["key"], "LV", "elder", "")
