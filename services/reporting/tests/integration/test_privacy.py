"""Issue 30 in reporting, on real PostgreSQL and Kafka: a controller verifies expenditure and approves a period
report, an editor records entries, a deliverable and a correction; the access export lists what each did; an
erasure request through the fan-out event (a login token only) leaves the controller's login in no reporting
table, event or captured log line, every figure and the approved documents byte for byte as before, and is
confirmed with person.erasure_completed (counts only); the retention job replaces the editor's login once the
configured days have passed on a moved clock."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from reporting_testkit import reset_topics

from lsg_events import topics
from lsg_events.privacy import PersonErasureCompleted
from lsg_local.testing import collect, dump_database, running_app, unique, wait_ready
from lsg_reporting.application.period_reports import canonical
from lsg_reporting.entrypoints.app import create_app, run_retention
from lsg_reporting.settings import ReportingSettings
from lsg_shared import admin, privacy
from lsg_shared.settings import KafkaSettings
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

SUBJECT_KEY = "reporting-test-privacy-subject-key-0123456789"
CONTROLLER = "kontrolieris.ozols@lps.lv"  # verifies and approves: the person who asks to be erased
EDITOR = "gramatvede.berzina@lps.lv"  # records: erased by the retention job later
TOKENS = api_tokens(
    grant("priv-admin-token", CONTROLLER, ["admin"]),
    grant("priv-editor-token", EDITOR, ["editor"]),
    grant("priv-viewer-token", "funder-viewer", ["viewer"]),
    grant("priv-dpo-token", "privacy-officer", ["admin"]),
)
A, E, V = bearer("priv-admin-token"), bearer("priv-editor-token"), bearer("priv-viewer-token")
DPO = bearer("priv-dpo-token")  # the admin who handles the privacy requests
BUDGET = [
    {"partner": "LEAD", "category": "staff", "work_package": "WP1", "amount": "100000.00"},
    {"partner": "LPS", "category": "staff", "work_package": "WP1", "amount": "104600.00"},
]


def entry(entry_id: str, partner: str, spent_on: str, amount: str) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "partner": partner,
        "category": "staff",
        "work_package": "WP1",
        "spent_on": spent_on,
        "amount": amount,
        "currency": "EUR",
        "vat": "0.00",
        "invoice_ref": f"INV-{entry_id}",
        "description": {"lv": "Alga", "ru": "Зарплата", "en": "Salary"},
        "evidence_ref": f"dms://evidence/{entry_id}.pdf",
    }


async def dump(dsn: str) -> str:
    """Every row of every table (bytea as PostgreSQL's hex), and the frozen JSON snapshots decoded."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT snapshot_json FROM period_report WHERE snapshot_json IS NOT NULL")
    finally:
        await conn.close()
    return "\n".join([await dump_database(dsn), *(bytes(r["snapshot_json"]).decode() for r in rows)])


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def files(client: Any, period: str) -> dict[str, bytes]:
    out = {}
    for suffix in ("report", "report.xlsx", "report.pdf"):
        r = await client.get(f"/v1/periods/{period}/{suffix}", headers=V)
        assert r.status_code == 200, r.text
        out[suffix] = r.content
    return out


async def figures(client: Any) -> dict[str, Any]:
    """What reporting publishes or shows of the money: the burn, the budget, every entry's amounts and state."""
    burn = (await client.get("/v1/expenditure/burn", params={"on": "2025-12-31"}, headers=V)).json()
    budget = (await client.get("/v1/budget", headers=V)).json()
    items = (await client.get("/v1/expenditure", headers=V)).json()["items"]
    keep = ("entry_id", "amount_eur", "period_id", "corrects")

    def checked(i: dict[str, Any]) -> tuple[Any, ...]:
        v = i["verification"]
        return (v["eligible_eur"], v["ineligible_eur"], v["note"], v["verified_at"]) if v else ()

    return {
        "burn": burn,
        "budget_lines": budget["lines"],
        "entries": sorted((*(i[k] for k in keep), *checked(i)) for i in items),
        "periods": (await client.get("/v1/periods", headers=V)).json(),
    }


async def test_logins_erased_documents_unchanged_retention(
    private_kafka: str, database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    await reset_topics(private_kafka)
    settings = ReportingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=private_kafka),
        consumer_group=unique("reporting"),
        api_tokens=TOKENS,
        publish_interval_s=0.5,
        outbox_poll_interval_s=0.2,
        privacy_subject_key=SUBJECT_KEY,
        reporting_identity_retention_days=365,
        audit_identity_retention_days=90,
    )
    app = create_app(settings)
    async with (
        running_app(app) as client,
        collect(private_kafka, topics.REPORTING, topics.PRIVACY) as events,
    ):
        await wait_ready(client)
        await ok(await client.post("/v1/budget/versions", json={"reason": "Grant", "lines": BUDGET}, headers=A), 201)
        for body in (entry("x1", "LPS", "2025-02-10", "5000.00"), entry("x2", "LEAD", "2025-03-10", "3000.00")):
            await ok(await client.post("/v1/expenditure", json=body, headers=E), 201)
        await ok(
            await client.post(
                "/v1/expenditure/x2/corrections", json=entry("x2b", "LEAD", "2025-03-10", "3100.00"), headers=E
            ),
            201,
        )
        for entry_id, eligible, ineligible in (("x1", "4900.00", "100.00"), ("x2b", "3100.00", "0.00")):
            await ok(
                await client.post(
                    f"/v1/expenditure/{entry_id}/verification",
                    json={"eligible_eur": eligible, "ineligible_eur": ineligible, "note": "checked"},
                    headers=A,
                )
            )
        deliverable = {
            "deliverable_id": "hb-1",
            "kind": "handbook_elders",
            "quantity": 50,
            "language": "ru",
            "recorded_on": "2025-04-01",
        }
        await ok(await client.post("/v1/deliverables", json=deliverable, headers=E), 201)
        await ok(await client.post("/v1/periods/P1/report/submit", headers=E))
        await ok(await client.post("/v1/periods/P1/report/verification", headers=A))
        await ok(await client.post("/v1/periods/P1/report/approve", headers=A))
        approved = await files(client, "P1")
        assert json.loads(approved["report"])["history"][-1]["action"] == "approve"
        assert CONTROLLER.encode() not in approved["report"]  # documents never name who took a step
        draft_p2 = await files(client, "P2")
        before = await figures(client)
        assert CONTROLLER in await dump(database_url)

        # A report frozen before documents stopped naming who took each step (its JSON's history has the login).
        legacy = canonical({"history": [{"action": "approve", "at": "2025-01-01T00:00:00+00:00", "by": CONTROLLER}]})
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "INSERT INTO period_report (period_id, status, snapshot_json, snapshot_sha256) "
                "VALUES ('P0-legacy', 'approved', $1, 'x')",
                legacy,
            )
        finally:
            await conn.close()

        # Access export: what the controller did, labelled lv/ru/en, where it is stored; the audit rows.
        await app.state.audit.flush()
        tokens = privacy.subject_tokens(SUBJECT_KEY, login=CONTROLLER)
        export = await ok(await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=DPO))
        assert export["service"] == "reporting"
        assert export["logins"]["value"] == [CONTROLLER]
        assert export["budget_versions"]["label"]["ru"] == "Утверждённые версии бюджета"
        assert [v["version"] for v in export["budget_versions"]["value"]] == [1]
        assert [v["entry_id"] for v in export["expenditure_verified"]["value"]] == ["x1", "x2b"]
        assert export["expenditure_verified"]["value"][0]["eligible_eur"] == "4900.00"
        assert export["expenditure_recorded"]["value"] == []
        assert [(s["period_id"], s["action"]) for s in export["report_steps"]["value"]] == [
            ("P1", "start_verification"),
            ("P1", "approve"),
        ]
        assert export["stored_in"]["value"]["database"].endswith(database_url.rsplit("/", 1)[1])
        assert export["audit"]["value"], "the controller's requests are in the audit log"
        assert (await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=E)).status_code == 403
        bad = await client.post("/v1/privacy/access", json={"subject_tokens": [CONTROLLER]}, headers=DPO)
        assert bad.status_code == 422  # a request never names the person
        editor_export = await ok(await client.post("/v1/privacy/access", json={"local_ids": [EDITOR]}, headers=DPO))
        assert [v["entry_id"] for v in editor_export["expenditure_recorded"]["value"]] == ["x1", "x2", "x2b"]
        assert [v["deliverable_id"] for v in editor_export["deliverables"]["value"]] == ["hb-1"]

        # `lsg-admin person access --login ... --service reporting=<url>` asks this route with tokens only: the
        # tool's request, captured and replayed on the service, finds the controller.
        sent: list[urllib.request.Request] = []

        def urlopen(request: urllib.request.Request, timeout: float) -> Any:
            sent.append(request)
            return io.BytesIO(b'{"service": "reporting"}')

        monkeypatch.setattr(urllib.request, "urlopen", urlopen)
        assert (
            admin.person_access(SUBJECT_KEY, ["reporting=https://r.example/"], "priv-dpo-token", login=CONTROLLER) == 0
        )
        monkeypatch.undo()
        [tool_request] = sent
        assert tool_request.full_url == "https://r.example/v1/privacy/access"
        assert CONTROLLER not in tool_request.data.decode()
        replayed = await client.post(
            "/v1/privacy/access", content=tool_request.data, headers=dict(tool_request.header_items())
        )
        assert (await ok(replayed))["logins"]["value"] == [CONTROLLER]

        # Erasure through the fan-out: one request carrying the login token only.
        request = admin.erasure_request(SUBJECT_KEY, login=CONTROLLER, request_id=unique("er"))
        assert CONTROLLER not in request.model_dump_json()
        await app.state.audit.flush()  # the controller's requests are in the log before the request arrives
        await admin.person_erase(KafkaSettings(bootstrap=private_kafka), request)
        await events.wait_for(
            lambda c: any(
                e.data.request_id == request.request_id and e.data.service == "reporting"
                for e in c.events(PersonErasureCompleted.event_type)
            ),
            timeout=60,
            message="reporting's confirmation",
        )
        [done] = [
            e.data
            for e in events.events(PersonErasureCompleted.event_type)
            if e.data.request_id == request.request_id and e.data.service == "reporting"
        ]
        assert done.erased["budget_versions"] == 1
        assert done.erased["expenditure_verified"] == 2
        assert done.erased["expenditure_recorded"] == 0
        assert done.erased["report_steps"] == 2
        assert done.erased["approved_documents"] == 1  # the legacy one only
        assert done.erased["audit_rows"] > 0

        # Gone from every table (the frozen JSON snapshots included), every event and every captured log line.
        everything = await dump(database_url)
        published = b"\n".join(r.value or b"" for r in events.records).decode()
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert CONTROLLER not in everything
        assert CONTROLLER not in published
        assert CONTROLLER not in logged
        assert EDITOR in everything  # only the person asked for
        # Figures and documents: the approved report byte for byte, the draft and the money as before.
        assert await files(client, "P1") == approved
        # (a draft's XLSX and PDF are rendered anew, with the time of rendering in their metadata: its JSON)
        assert (await files(client, "P2"))["report"] == draft_p2["report"]
        assert await figures(client) == before
        items = {i["entry_id"]: i for i in (await client.get("/v1/expenditure", headers=V)).json()["items"]}
        pseudonym = items["x1"]["verification"]["verified_by"]
        assert pseudonym.startswith("erased-")
        assert items["x2b"]["verification"]["verified_by"] == pseudonym  # the same hand, still visible as one
        assert items["x1"]["recorded_by"] == EDITOR  # four eyes still readable
        conn = await asyncpg.connect(database_url)
        try:
            [record] = await conn.fetch(
                "SELECT * FROM reporting_privacy_erasures WHERE request_id = $1", request.request_id
            )
            assert record["requested"] == "event"
            assert pseudonym not in str(dict(record))
        finally:
            await conn.close()
        after = await ok(await client.post("/v1/privacy/access", json={"subject_tokens": tokens}, headers=DPO))
        assert after["logins"]["value"] == []
        assert after["audit"]["value"] == []

        # The same request again (a redelivery, or the operator repeating it through the route) erases nothing.
        again = await ok(
            await client.post(
                "/v1/privacy/erasure-requests",
                json={"subject_tokens": tokens, "request_id": request.request_id},
                headers=DPO,
            )
        )
        assert set(again["erased"].values()) == {0}

        # Retention on a moved clock: the editor's login stays 365 days after each action, then is replaced.
        now = datetime.now(UTC)
        counts = await run_retention(app.state.runtime, settings, now=now + timedelta(days=364))
        assert counts.get("expenditure_recorded", 0) == 0
        assert counts["audit_rows"] > 0  # the audit log's identities go after their own 90 days
        assert EDITOR in await dump(database_url)
        counts = await run_retention(app.state.runtime, settings, now=now + timedelta(days=366))
        assert counts["expenditure_recorded"] == 3
        assert counts["deliverables"] == 1
        assert counts["report_steps"] == 1
        assert EDITOR not in await dump(database_url)
        assert await files(client, "P1") == approved
        assert await figures(client) == before
