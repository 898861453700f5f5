"""Issue 30 on real PostgreSQL (a main database and two standing for Latvia and Russia) and Kafka: respondents'
residency, the access export, erasure through the fan-out event (published figures unchanged, the person
unrecoverable from every table, event and log line the test can read), and the retention job on a moved clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from surveys_support import ADMIN, EDITOR, SETTLEMENTS, VIEWER, auth, loc, response_body, settings, survey_body

from lsg_events import topics
from lsg_events.privacy import PersonErasureCompleted
from lsg_local import testing
from lsg_local.testing import collect, dump_database, running_app, unique, wait_ready
from lsg_shared import admin, privacy
from lsg_shared.settings import KafkaSettings
from lsg_surveys.entrypoints.app import create_app, run_retention

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

SUBJECT_KEY = "surveys-test-privacy-subject-key-0123456789"
LUGA = {"code": "41633000", "name": loc("Lugas rajons", "Лужский район", "Luga district")}
SETTLEMENT_RU = {
    "country": "RU",
    "municipality": LUGA,
    "territory": {"code": "41633416", "name": loc("Zaklinjes apdz. vieta", "Заклинское поселение", "Zaklinye")},
    "settlement": {"code": "41633416101", "name": loc("Zaklinje", "Заклинье", "Zaklinye")},
}
JANIS = {"name": "Jānis Privātais-Respondents", "phone": "+371 2911 2233", "ref": "LV-RESP-PRIV-01"}
YULIA = {"name": "Щёголева Юлия Респондентовна", "phone": "+7 911 555 44 33", "ref": "RU-RESP-PRIV-01"}
PETERIS = {"name": "Pēteris Vecāsmetodes", "phone": "+371 2922 4455"}
LIGA = {"name": "Līga Glabājamā", "phone": "+371 2933 6677"}
COMMENTS = {
    "janis": "Jāņa slepenais komentārs",
    "janis_edit": "Jāņa labotais slepenais komentārs",
    "yulia": "Юлин личный комментарий",
    "peteris": "Pētera komentārs",
    "liga": "Līgas komentārs",
}
MARKERS = (
    "Jānis Privātais",
    "29112233",
    "2911 2233",
    "LV-RESP-PRIV-01",
    "Jāņa slepenais",
    "Jāņa labotais",
    "Щёголева",
    "9115554433",
    "555 44 33",
    "RU-RESP-PRIV-01",
    "Юлин личный",
)
FIGURE_TYPES = (
    "lv.lsg.survey.response.recorded.v1",
    "lv.lsg.survey.response.corrected.v1",
    "lv.lsg.survey.completed.v1",
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


def answer(i: int, who: dict[str, str], comment: str, settlement: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = response_body(i, submission_id=unique("sub"), respondent=who, settlement=settlement)
    body["answers"]["q_comment"] = comment
    body.update(extra)
    return body


def figures(events: Any, campaigns: tuple[str, ...]) -> list[str]:
    """Every published figure of the campaigns: the response events and the completed aggregates, as JSON."""
    return sorted(
        e.data.model_dump_json()
        for t in FIGURE_TYPES
        for e in events.events(t)
        if getattr(e.data, "campaign_id", None) in campaigns
    )


async def test_residency_access_erasure_and_retention(
    database_url: str, kafka_bootstrap: str, country_databases: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = settings(
        database_url,
        kafka_bootstrap,
        surveys_personal_database_url_lv=country_databases["LV"],
        surveys_personal_database_url_ru=country_databases["RU"],
        privacy_subject_key=SUBJECT_KEY,
        surveys_respondent_retention_days=30,
    )
    app = create_app(config)
    rt = app.state.runtime
    cid_lv, cid_ru = unique("priv-lv"), unique("priv-ru")
    async with running_app(app) as client, collect(kafka_bootstrap, topics.SURVEYS, topics.PRIVACY) as events:
        await wait_ready(client)
        r = await client.post("/v1/campaigns", json=survey_body(cid_lv), headers=auth(ADMIN))
        assert r.status_code == 201, r.text
        ru_body = survey_body(cid_ru, place={"country": "RU", "municipality": LUGA}, settlements=[SETTLEMENT_RU])
        r = await client.post("/v1/campaigns", json=ru_body, headers=auth(ADMIN))
        assert r.status_code == 201, r.text
        for cid in (cid_lv, cid_ru):
            assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200

        first = answer(1, JANIS, COMMENTS["janis"], SETTLEMENTS[0])
        sent = [
            (cid_lv, first),
            (cid_ru, answer(2, YULIA, COMMENTS["yulia"], SETTLEMENT_RU)),
            (cid_lv, answer(3, PETERIS, COMMENTS["peteris"], SETTLEMENTS[1])),
            (cid_lv, answer(4, LIGA, COMMENTS["liga"], SETTLEMENTS[2])),
        ]
        ids = []
        for cid, body in sent:
            r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=auth(EDITOR))
            assert r.status_code == 201, r.text
            ids.append(r.json()["response_id"])
        janis_id, yulia_id, peteris_id, _liga_id = ids
        # Jānis edits his response (Kobo's deprecatedID): the new comment goes to the same country's database.
        edit = answer(
            1, {"name": JANIS["name"]}, COMMENTS["janis_edit"], SETTLEMENTS[0], replaces=first["submission_id"]
        )
        r = await client.post(f"/v1/campaigns/{cid_lv}/responses", json=edit, headers=auth(EDITOR))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "corrected"

        # Residency: personal fields in the respondent's country, pseudonymous facts in the main database.
        main, lv, ru = (
            await dump_database(database_url),
            await dump_database(country_databases["LV"]),
            await dump_database(country_databases["RU"]),
        )
        for marker in (*MARKERS, PETERIS["name"], LIGA["name"]):
            assert marker not in main, marker
        assert JANIS["name"] in lv
        assert JANIS["ref"] in lv
        assert COMMENTS["janis_edit"] in lv
        assert COMMENTS["janis"] not in lv  # the edit replaced it
        assert JANIS["phone"] in lv  # kept from the original (the edit gave no phone)
        assert YULIA["name"] not in lv
        assert YULIA["name"] in ru
        assert COMMENTS["yulia"] in ru
        assert JANIS["name"] not in ru
        stored = (await client.get(f"/v1/campaigns/{cid_lv}/responses/{janis_id}", headers=auth(EDITOR))).json()
        assert (stored["respondent_name"], stored["free_text"]) == (
            JANIS["name"],
            {"q_comment": COMMENTS["janis_edit"]},
        )
        assert stored["respondent_key"] in main

        # The older erasure route still works under residency: it deletes the country database's row too.
        r = await client.post("/v1/erasure-requests", json={"phone": PETERIS["phone"]}, headers=auth(ADMIN))
        assert r.status_code == 200, r.text
        assert r.json() == {"erased_responses": 1}
        assert PETERIS["name"] not in await dump_database(country_databases["LV"])

        for cid in (cid_lv, cid_ru):
            assert (await client.post(f"/v1/campaigns/{cid}/close", headers=auth(ADMIN))).status_code == 200
        await events.wait_for(
            lambda c: len([e for e in c.events(FIGURE_TYPES[2]) if e.data.campaign_id in (cid_lv, cid_ru)]) == 2,
            message="two campaigns completed",
        )
        before = figures(events, (cid_lv, cid_ru))
        results_before = [(await client.get(f"/v1/campaigns/{c}/results")).json() for c in (cid_lv, cid_ru)]

        # Access export: everything held, labelled lv/ru/en, with where it is stored.
        tokens = privacy.subject_tokens(SUBJECT_KEY, ref=JANIS["ref"], login="editor")
        r = await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=auth(ADMIN))
        assert r.status_code == 200, r.text
        export = r.json()
        assert export["service"] == "surveys"
        [person] = export["responses"]
        fields = person["fields"]
        assert fields["respondent_name"]["value"] == JANIS["name"]
        assert fields["respondent_name"]["label"] == {"lv": "Vārds, uzvārds", "ru": "ФИО", "en": "Full name"}
        assert fields["respondent_phone"]["value"] == JANIS["phone"]
        assert fields["respondent_ref"]["value"] == JANIS["ref"]
        assert fields["free_text"]["value"][0]["text"] == COMMENTS["janis_edit"]
        assert fields["free_text"]["value"][0]["question"]["en"] == "Comment"
        assert fields["answers"]["value"]["q_dialogue"] == first["answers"]["q_dialogue"]
        assert fields["response_id"]["value"] == janis_id
        assert len(fields["submission_ids"]["value"]) == 2
        where = person["stored_in"]["value"]
        assert where["personal_fields"]["country"] == "LV"
        assert where["personal_fields"]["database"].endswith(country_databases["LV"].rsplit("/", 1)[1])
        assert where["pseudonymous_facts"]["database"].endswith(database_url.rsplit("/", 1)[1])
        assert person["events"]["value"]["key"] == stored["respondent_key"]
        await app.state.audit.flush()  # audit rows are written in batches, off the request's path
        r = await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=auth(ADMIN))
        assert r.json()["audit"]["value"], "the editor's audit rows"
        by_name = privacy.subject_tokens(SUBJECT_KEY, name=YULIA["name"].upper(), country="RU")
        r = await client.post("/v1/privacy/access", json={"subject_tokens": by_name}, headers=auth(ADMIN))
        [found] = r.json()["responses"]
        assert found["stored_in"]["value"]["personal_fields"]["country"] == "RU"
        assert found["fields"]["free_text"]["value"][0]["text"] == COMMENTS["yulia"]

        # Erasure through the fan-out: one request (tokens only) for both people and the editor's login.
        await app.state.audit.flush()
        request = admin.erasure_request(
            SUBJECT_KEY,
            phone=JANIS["phone"],
            name=YULIA["name"],
            country="RU",
            login="editor",
            request_id=unique("er"),
        )
        assert JANIS["phone"] not in request.model_dump_json()
        assert YULIA["name"] not in request.model_dump_json()
        await admin.person_erase(KafkaSettings(bootstrap=kafka_bootstrap), request)

        def confirmed(c: Any) -> list[Any]:
            return [
                e.data
                for e in c.events(PersonErasureCompleted.event_type)
                if e.data.request_id == request.request_id and e.data.service == "surveys"
            ]

        await events.wait_for(lambda c: bool(confirmed(c)), message="erasure confirmed by surveys")
        [done] = confirmed(events)
        assert done.erased["responses"] == 2
        assert done.erased["personal_records"] == 2
        assert done.erased["audit_rows"] > 0

        # Figures unchanged: no event was told about it, the published results are the same.
        assert figures(events, (cid_lv, cid_ru)) == before
        assert [(await client.get(f"/v1/campaigns/{c}/results")).json() for c in (cid_lv, cid_ru)] == results_before
        # Unrecoverable: no table (main and both countries), event or log line holds any of it; the key is cut.
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
        assert stored["respondent_key"] not in everything
        conn = await asyncpg.connect(database_url)
        try:
            erasures = await conn.fetch(
                "SELECT * FROM survey_privacy_erasures WHERE request_id = $1", request.request_id
            )
            assert len(erasures) == 1
            assert erasures[0]["requested"] == "event"
            assert janis_id not in str(dict(erasures[0]))
            assert await conn.fetchval("SELECT count(*) FROM lsg_audit_log WHERE subject = 'editor'") == 0
        finally:
            await conn.close()
        r = await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=auth(ADMIN))
        assert r.json()["responses"] == []
        kept = (await client.get(f"/v1/campaigns/{cid_ru}/responses/{yulia_id}", headers=auth(ADMIN))).json()
        assert (kept["respondent_name"], kept["respondent_phone"], kept["free_text"]) == (None, None, None)
        assert kept["answers"]["q_dialogue"] == sent[1][1]["answers"]["q_dialogue"]  # closed answers stay

        # The same request again (a redelivery, or the operator repeating it) erases nothing more.
        await admin.person_erase(KafkaSettings(bootstrap=kafka_bootstrap), request)

        # A write whose main transaction failed after placing the personal fields leaves an orphan row in the
        # country's database: the retention job sweeps it once it is settled (an hour old).
        lvconn = await asyncpg.connect(country_databases["LV"])
        try:
            await lvconn.execute(
                "INSERT INTO respondent_personal (response_id, respondent_name, updated_at) "
                "VALUES (gen_random_uuid(), 'Orphan Bārenis', now() - interval '2 hours')"
            )
        finally:
            await lvconn.close()

        # Retention on a moved clock: the campaigns closed today; 30 days later Līga is still kept, 31 not.
        closed = datetime.now(UTC).date()
        counts = await run_retention(rt, config, today=closed + timedelta(days=30))
        assert counts["responses"] == 0
        assert counts["orphaned_personal_records"] == 1
        lv_now = await dump_database(country_databases["LV"])
        assert LIGA["name"] in lv_now
        assert "Orphan Bārenis" not in lv_now
        counts = await run_retention(rt, config, today=closed + timedelta(days=31))
        assert counts["responses"] == 1
        assert counts["personal_records"] == 1
        everything = await dump_database(country_databases["LV"]) + await dump_database(database_url)
        assert LIGA["name"] not in everything
        assert COMMENTS["liga"] not in everything
        assert (await run_retention(rt, config, today=closed + timedelta(days=32)))["responses"] == 0
        assert figures(events, (cid_lv, cid_ru)) == before
        assert [(await client.get(f"/v1/campaigns/{c}/results")).json() for c in (cid_lv, cid_ru)] == results_before
        assert peteris_id


async def test_privacy_routes_without_residency(client: Any, module_db: str) -> None:
    """No per-country setting: everything in the main database as before; the admin routes work by response id
    (the development subject key matches tokens too)."""
    cid = unique("priv-main")
    assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
    assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
    body = answer(5, JANIS, COMMENTS["janis"], SETTLEMENTS[0])
    r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=auth(EDITOR))
    assert r.status_code == 201, r.text
    rid = r.json()["response_id"]
    assert JANIS["name"] in await dump_database(module_db)  # where it always was
    ask = {"local_ids": [rid]}
    assert (await client.post("/v1/privacy/erasure-requests", json=ask, headers=auth(EDITOR))).status_code == 403
    assert (await client.post("/v1/privacy/access", json=ask, headers=auth(VIEWER))).status_code == 403
    assert (await client.post("/v1/privacy/access", json=ask)).status_code == 401
    assert (await client.post("/v1/privacy/access", json={}, headers=auth(ADMIN))).status_code == 422
    bad = {"subject_tokens": [JANIS["phone"]]}  # a request never names the person
    assert (await client.post("/v1/privacy/access", json=bad, headers=auth(ADMIN))).status_code == 422
    export = (await client.post("/v1/privacy/access", json=ask, headers=auth(ADMIN))).json()
    [found] = export["responses"]
    assert found["stored_in"]["value"]["personal_fields"]["kind"] == "main_database"
    assert found["fields"]["respondent_ref"]["value"] == JANIS["ref"]
    tokens = privacy.subject_tokens(privacy.DEVELOPMENT_KEY, phone=JANIS["phone"].replace(" ", ""))
    by_token = (await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=auth(ADMIN))).json()
    assert [x["fields"]["response_id"]["value"] for x in by_token["responses"]] == [rid]
    request_id = unique("er-route")
    r = await client.post("/v1/privacy/erasure-requests", json={**ask, "request_id": request_id}, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    assert r.json()["erased"]["responses"] == 1
    again = await client.post(
        "/v1/privacy/erasure-requests", json={**ask, "request_id": request_id}, headers=auth(ADMIN)
    )
    assert again.json()["erased"]["responses"] == 0
    text = await dump_database(module_db)
    for marker in MARKERS[:5]:
        assert marker not in text, marker
    kept = (await client.get(f"/v1/campaigns/{cid}/responses/{rid}", headers=auth(EDITOR))).json()
    assert (kept["respondent_name"], kept["gender"]) == (None, body["gender"])


async def test_lsg_admin_person_access_gathers_surveys_part(
    client: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lsg-admin person access --service surveys=<url>` asks surveys' POST /v1/privacy/access: the request the tool
    makes (captured here, then replayed on the service) finds the respondent and the tool prints surveys' part."""
    import io
    import json
    import urllib.request

    cid = unique("priv-admin")
    assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
    assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
    who = {"name": "Aiga Piekļuves", "phone": "+371 2944 8899"}
    body = answer(6, who, "Aigas komentārs", SETTLEMENTS[1])
    assert (await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=auth(EDITOR))).status_code == 201
    sent: list[Any] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> Any:
        sent.append(request)
        return io.BytesIO(json.dumps({"service": "surveys"}).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    assert (
        admin.person_access(privacy.DEVELOPMENT_KEY, ["surveys=https://surveys.example/"], ADMIN, phone=who["phone"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"surveys": {"service": "surveys"}}
    [request] = sent
    assert request.full_url == "https://surveys.example/v1/privacy/access"
    assert who["phone"] not in request.data.decode()  # tokens only
    r = await client.post(
        "/v1/privacy/access",
        content=request.data,
        headers={k.lower(): v for k, v in request.header_items()},
    )
    assert r.status_code == 200, r.text
    [found] = r.json()["responses"]
    assert found["fields"]["respondent_name"]["value"] == who["name"]
