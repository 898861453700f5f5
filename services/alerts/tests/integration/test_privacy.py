"""Issue 30 for alert contacts on real PostgreSQL (a main database and two standing for Latvia and Russia), Kafka
and a real SMTP server (Mailpit): a Latvian and a Russian contact land in their country's database and are still
reached; the access export (through ``lsg-admin person access``) lists everything; erasure through the fan-out
event leaves every published figure unchanged and the people unrecoverable from every table, event and log line
the test can read; the retention job erases on a moved clock."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from lsg_alerts.entrypoints.app import create_app, run_retention
from lsg_events import CloudEvent, PersonErasureCompleted, topics
from lsg_events.partner import signed_headers
from lsg_events.privacy import PersonErasureRequested
from lsg_local import testing
from lsg_local.mailpit import Mailpit
from lsg_local.testing import collect, dump_database, running_app, unique, wait_ready
from lsg_shared import admin, privacy
from lsg_shared.kafka import ensure_topics
from lsg_testkit.alerts import cap_json, settlement_place
from lsg_testkit.kafka import skip_to_end

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

SUBJECT_KEY = "alerts-test-privacy-subject-key-0123456789"
LINK = re.compile(r"https?://\S+/v1/ack/([A-Za-z0-9_-]+)")


@pytest.fixture
def mailpit(tmp_path: Path) -> Iterator[Mailpit]:
    server = Mailpit(tmp_path / "mailpit").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def country_databases(infra: testing.Infra) -> AsyncIterator[dict[str, str]]:
    """The service's own main database (the retention job's moved clock must not reach other tests' contacts) and
    the two standing for Latvia and Russia."""
    main = await testing.create_database(infra.admin_dsn)
    lv = await testing.create_database(infra.admin_dsn)
    ru = await testing.create_database(infra.admin_dsn)
    try:
        yield {"main": main, "LV": lv, "RU": ru}
    finally:
        for dsn in (main, lv, ru):
            await testing.drop_database(infra.admin_dsn, dsn)


async def mail_to(mailpit: Mailpit, address: str, timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in await asyncio.to_thread(mailpit.messages) if any(t["Address"] == address for t in m["To"])]
        if found:
            return await asyncio.to_thread(mailpit.message, found[-1]["ID"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"no message to {address} within {timeout:.0f} s")


@contextlib.asynccontextmanager
async def started(settings: Any) -> AsyncIterator[tuple[Any, Any]]:
    await ensure_topics(settings.kafka, topics.TOPICS)
    await skip_to_end(settings.kafka.bootstrap, settings.partner_group_id, topics.PARTNER_INPUT)
    app = create_app(settings)
    async with running_app(app) as client:
        await wait_ready(client)
        yield app, client


async def retention(app: Any, settings: Any, at: datetime) -> dict[str, int]:
    return await run_retention(app.state.runtime, settings, app.state.box, app.state.residency, at=at)


async def test_residency_access_erasure_and_retention(
    make_settings: Any,
    h: Any,
    mailpit: Mailpit,
    kafka_bootstrap: str,
    country_databases: dict[str, str],
    producer: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    database_url = country_databases["main"]
    u = unique("p")[-8:]
    janis = {"name": f"Jānis Kontaktpersona-{u}", "email": f"janis-{u}@example.lv", "phone": "+371 2955 1122"}
    oleg = {"name": f"Щукин Олег Контактович-{u}", "email": f"oleg-{u}@example.ru", "phone": "+7 921 333 22 11"}
    liga = {"name": f"Līga Glabājamā-{u}", "email": f"liga-{u}@example.lv", "phone": "+371 2966 7788"}
    markers = [p[k] for p in (janis, oleg, liga) for k in ("name", "email")] + ["29551122", "9213332211", "29667788"]
    settings = make_settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=mailpit.smtp_port,
        smtp_username="alerts",
        smtp_password="relay-password",
        smtp_timeout_s=3.0,
        notify_interval_s=0.2,
        notify_backoff_s=0.5,
        notify_backoff_max_s=1.0,
        public_base_url="https://alerts.example.lv",
        ack_deadlines_s={"Extreme": 4.0},
        privacy_subject_key=SUBJECT_KEY,
        alerts_personal_database_url_lv=country_databases["LV"],
        alerts_personal_database_url_ru=country_databases["RU"],
        alerts_contact_retention_days=30,
    )
    async with (
        started(settings) as (app, client),
        collect(kafka_bootstrap, topics.ALERTS, topics.PRIVACY) as ev,
    ):

        async def contact(who: dict[str, str], language: str, country: str) -> str:
            body = {
                "name": who["name"],
                "language": language,
                "channels": [{"kind": "email", "address": who["email"]}],
                "phone": who["phone"],
                "country": country,
            }
            r = await client.post("/v1/contacts", json=body, headers=h.AUTH_ADMIN)
            assert r.status_code == 201, r.text
            assert r.json()["name"] == who["name"]
            return str(r.json()["contact_id"])

        lv_id, ru_id, liga_id = await contact(janis, "lv", "LV"), await contact(oleg, "ru", "RU"), None
        liga_id = await contact(liga, "lv", "LV")

        # Residency: the sealed part is in the country's database only; the main row keeps the rest.
        main = await asyncpg.connect(database_url)
        try:
            rows = {
                str(r["contact_id"]): r
                for r in await main.fetch(
                    "SELECT contact_id, sealed, residence, language, channel_kinds FROM contacts "
                    "WHERE contact_id = ANY($1::uuid[])",
                    [UUID(lv_id), UUID(ru_id), UUID(liga_id)],
                )
            }
        finally:
            await main.close()
        assert {k: (r["sealed"], r["residence"]) for k, r in rows.items()} == {
            lv_id: (None, "LV"),
            ru_id: (None, "RU"),
            liga_id: (None, "LV"),
        }
        assert rows[ru_id]["language"] == "ru"
        assert list(rows[ru_id]["channel_kinds"]) == ["email"]
        for country, mine, other in (("LV", lv_id, ru_id), ("RU", ru_id, lv_id)):
            conn = await asyncpg.connect(country_databases[country])
            try:
                held = {str(r["contact_id"]) for r in await conn.fetch("SELECT contact_id FROM contact_personal")}
            finally:
                await conn.close()
            assert mine in held
            assert other not in held
        shown = (await client.get(f"/v1/contacts/{ru_id}", headers=h.AUTH_ADMIN)).json()
        assert (shown["name"], shown["phone"], shown["channels"][0]["address"]) == (
            oleg["name"],
            oleg["phone"],
            oleg["email"],
        )

        # Both are still reached: the elder (LV) first, then on the deadline the duty officer (RU), who acknowledges.
        settlement = unique("S")[-10:]
        partner, secret = await h.create_partner(client)
        device = unique("siren")
        r = await client.post(
            "/v1/devices",
            json={
                "device_id": device,
                "kind": "siren",
                "place": settlement_place(settlement),
                "partner_id": partner,
                "heartbeat_interval_s": 300,
            },
            headers=h.AUTH_EDITOR,
        )
        assert r.status_code == 201, r.text
        assert (await client.post(f"/v1/devices/{device}/install", json={}, headers=h.AUTH_EDITOR)).status_code == 200
        starts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        for level, member in (("settlement_elder", lv_id), ("municipality", ru_id)):
            body = {"level": level, "area_code": f"S{settlement}", "starts_at": starts, "members": [member]}
            assert (await client.post("/v1/rotas", json=body, headers=h.AUTH_ADMIN)).status_code == 201
        cap = cap_json(identifier=unique("priv"), device_id=device, severity="Extreme", headline="Plūdi")
        r = await client.post(f"/v1/partners/{partner}/alerts", content=cap, headers=signed_headers(secret, cap))
        assert r.status_code == 202, r.text
        alert_id = r.json()["alert_id"]
        to_janis = await mail_to(mailpit, janis["email"])
        assert f"Labdien, {janis['name']}!" in to_janis["Text"]
        to_oleg = await mail_to(mailpit, oleg["email"])
        assert f"Здравствуйте, {oleg['name']}!" in to_oleg["Text"]
        found = LINK.search(to_oleg["Text"])
        assert found
        assert (await client.post(f"/v1/ack/{found.group(1)}")).status_code == 200
        await ev.wait_for(
            lambda c: any(e.data.alert_id == alert_id for e in c.events("lv.lsg.alert.acknowledged.v1")),
            30,
            "alert.acknowledged",
        )
        await asyncio.sleep(1.5)  # the last notification events through the relay

        # Access, as the operator's tool asks it: tokens only on the wire; everything about Oleg comes back.
        sent: list[Any] = []

        def urlopen(request: urllib.request.Request, timeout: float) -> Any:
            sent.append(request)
            return io.BytesIO(json.dumps({"service": "alerts"}).encode())

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(urllib.request, "urlopen", urlopen)
            assert admin.person_access(SUBJECT_KEY, ["alerts=https://alerts.example/"], "t", email=oleg["email"]) == 0
        [request] = sent
        assert request.full_url == "https://alerts.example/v1/privacy/access"
        assert oleg["email"] not in request.data.decode()
        r = await client.post(
            "/v1/privacy/access", content=request.data, headers=h.AUTH_ADMIN | {"content-type": "application/json"}
        )
        assert r.status_code == 200, r.text
        export = r.json()
        [mine] = export["contacts"]
        fields = mine["fields"]
        assert fields["contact_id"]["value"] == ru_id
        assert fields["name"]["value"] == oleg["name"]
        assert fields["name"]["label"]["ru"] == "Имя и фамилия"
        assert fields["phone"]["value"] == oleg["phone"]
        assert fields["channels"]["value"] == [{"kind": "email", "address": oleg["email"]}]
        stored = mine["stored_in"]["value"]
        assert stored["personal_fields"]["country"] == "RU"
        assert stored["personal_fields"]["kind"] == "personal_database"
        assert stored["pseudonymous_facts"]["kind"] == "main_database"
        assert [x["level"] for x in mine["rotas"]["value"]] == ["municipality"]
        [note] = mine["notifications"]["value"]
        assert note["alert_id"] == alert_id
        assert note["state"] == "sent"
        assert note["link_used_at"]
        assert note["attempts"]["value"][0]["ok"] is True
        [ack] = mine["acknowledgements"]["value"]
        assert ack["alert_id"] == alert_id
        assert ack["action"] == "acknowledged"
        assert export["partners"]["value"] == []
        by_name = privacy.subject_tokens(SUBJECT_KEY, name=janis["name"], country="LV")
        r = await client.post("/v1/privacy/access", json={"subject_tokens": by_name}, headers=h.AUTH_ADMIN)
        assert [c["fields"]["contact_id"]["value"] for c in r.json()["contacts"]] == [lv_id]

        # Published figures before the erasure: every event of the alert, and the alert as the API shows it.
        def figures() -> list[str]:
            return sorted(
                e.data.model_dump_json()
                for e in ev.events()
                if e.source.endswith("alerts") and getattr(e.data, "alert_id", None) == alert_id
            )

        before = figures()
        assert before
        alert_before = (await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_ADMIN)).json()

        # Erasure through the fan-out event: Jānis by phone, Oleg by name in his country.
        request_id = unique("erase")
        tokens = privacy.subject_tokens(SUBJECT_KEY, phone=janis["phone"]) + privacy.subject_tokens(
            SUBJECT_KEY, name=oleg["name"], country="RU"
        )
        event = PersonErasureRequested(
            request_id=request_id, requested_at=datetime.now(UTC), subject_tokens=tokens, local_ids={}
        )
        k, value, headers = CloudEvent(data=event, source="urn:lsg:test").to_kafka()
        await producer.send_and_wait(
            topics.PRIVACY, value, key=k, headers=[(n, v.encode()) for n, v in headers.items()]
        )
        await ev.wait_for(
            lambda c: any(
                e.data.request_id == request_id and e.data.service == "alerts"
                for e in c.events(PersonErasureCompleted.event_type)
            ),
            60,
            "the alerts confirmation",
        )
        [done] = [
            e.data
            for e in ev.events(PersonErasureCompleted.event_type)
            if e.data.request_id == request_id and e.data.service == "alerts"
        ]
        assert done.erased == {"contacts": 2, "personal_records": 2}
        await asyncio.sleep(1.0)
        assert figures() == before
        assert (await client.get(f"/v1/alerts/{alert_id}", headers=h.AUTH_ADMIN)).json() == alert_before
        for cid in (lv_id, ru_id):
            shown = (await client.get(f"/v1/contacts/{cid}", headers=h.AUTH_ADMIN)).json()
            assert shown["name"] is None
            assert shown["channels"] == []
            assert shown["erased_at"]
        r = await client.post("/v1/privacy/access", json={"local_ids": [ru_id]}, headers=h.AUTH_ADMIN)
        [gone] = r.json()["contacts"]
        assert gone["fields"]["name"]["value"] is None
        assert gone["fields"]["erased_at"]["value"]

        # Unrecoverable: no table of the three databases, no record of the topics, no log line names them.
        everything = "\n".join(
            [await dump_database(database_url), *[await dump_database(country_databases[c]) for c in ("LV", "RU")]]
        )
        records = "\n".join((r.value or b"").decode("utf-8", "replace") for r in ev.records)
        logs = caplog.text
        for marker in [*markers[:4], "29551122", "9213332211"]:
            assert marker not in everything, marker
            assert marker not in records, marker
            assert marker not in logs, marker
        assert liga["name"] not in records
        assert liga["name"] not in logs

        # Retention on a moved clock: Līga is in no rota; 30 days on she is kept, the day after erased.
        registered = datetime.now(UTC)
        counts = await retention(app, settings, registered + timedelta(days=29, hours=23))
        assert liga_id not in json.dumps(counts)
        assert (await client.get(f"/v1/contacts/{liga_id}", headers=h.AUTH_ADMIN)).json()["name"] == liga["name"]
        counts = await retention(app, settings, registered + timedelta(days=31))
        assert counts["contacts"] >= 1
        assert (await client.get(f"/v1/contacts/{liga_id}", headers=h.AUTH_ADMIN)).json()["name"] is None
        lv_now = await dump_database(country_databases["LV"])
        assert liga_id not in lv_now
        # Contacts on a rota are kept however old (Oleg and Jānis were erased; a fresh rota member stays).
        everything = await dump_database(database_url) + lv_now
        for marker in (liga["name"], liga["email"], "29667788"):
            assert marker not in everything
        assert figures() == before
