"""The audit log on real PostgreSQL, through the services' own apps: alerts (partner management, the signed
partner doors) and surveys (a response's answers never reach the log); export as JSON, CSV and from lsg-admin;
retention. Each test has its own database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet

from lsg_alerts.entrypoints.app import create_app as alerts_app
from lsg_alerts.settings import AlertsSettings
from lsg_alerts.testing import heartbeat_json, settlement_place, signed_headers
from lsg_local import testing
from lsg_shared import admin, audit
from lsg_shared.auth import hash_token
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka]

ADMIN, EDITOR, VIEWER = "audit-admin-token", "audit-editor-token", "audit-viewer-token"
TOKENS = json.dumps(
    [
        {"sha256": hash_token(ADMIN), "subject": "ops-admin", "roles": ["admin"]},
        {"sha256": hash_token(EDITOR), "subject": "duty-officer-7", "roles": ["editor"], "countries": ["LV"]},
        {"sha256": hash_token(VIEWER), "subject": "dashboard", "roles": ["viewer"]},
    ]
)
PROXY = {"x-forwarded-for": "203.0.113.9", "user-agent": "audit-test/1.0", "x-request-id": "req-audit-1"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def all_rows_as_text(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch("SELECT row_to_json(t)::text FROM lsg_audit_log t ORDER BY id")]
    finally:
        await conn.close()


async def export(client: Any, **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/v1/audit", params={"limit": 10_000, **params}, headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


@pytest.fixture
def alerts_settings(database_url: str, kafka_bootstrap: str) -> AlertsSettings:
    return AlertsSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=kafka_bootstrap),
        api_tokens=TOKENS,
        alerts_secrets_key=Fernet.generate_key().decode(),
        partner_group_id=testing.unique("audit-partner-group"),
        trusted_proxies="127.0.0.1",  # httpx's in-process transport calls from 127.0.0.1
    )


async def test_partner_management_is_audited_without_any_secret(alerts_settings: AlertsSettings) -> None:
    partner = testing.unique("vendor")
    async with testing.running_app(alerts_app(alerts_settings)) as client:
        r = await client.post(
            "/v1/partners", json={"partner_id": partner, "kind": "vendor"}, headers={**bearer(ADMIN), **PROXY}
        )
        assert r.status_code == 201, r.text
        first_id, first = r.json()["new_secret"]["secret_id"], r.json()["new_secret"]["secret"]
        r = await client.post(f"/v1/partners/{partner}/secrets", headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        second_id, second = r.json()["secret_id"], r.json()["secret"]
        r = await client.post(f"/v1/partners/{partner}/secrets", headers=bearer(ADMIN))
        third_id, third = r.json()["secret_id"], r.json()["secret"]
        device = testing.unique("siren")
        r = await client.post(
            "/v1/devices",
            json={"device_id": device, "kind": "siren", "place": settlement_place(), "partner_id": partner},
            headers=bearer(EDITOR),
        )
        assert r.status_code == 201, r.text
        r = await client.put(f"/v1/partners/{partner}/devices", json={"device_ids": [device]}, headers=bearer(ADMIN))
        assert r.status_code == 200, r.text
        assert (
            await client.delete(f"/v1/partners/{partner}/secrets/{second_id}", headers=bearer(ADMIN))
        ).status_code == 204

        # Refusals: no token, an unknown token, too low a role.
        assert (await client.post(f"/v1/partners/{partner}/secrets")).status_code == 401
        assert (await client.post(f"/v1/partners/{partner}/secrets", headers=bearer("stolen?"))).status_code == 401
        assert (await client.post(f"/v1/partners/{partner}/secrets", headers=bearer(EDITOR))).status_code == 403

        # The signed partner door: a verified heartbeat, and a forged one.
        body = heartbeat_json(device, partner)
        r = await client.post(f"/v1/partners/{partner}/heartbeats", content=body, headers=signed_headers(third, body))
        assert r.status_code != 401, r.text
        forged = signed_headers(first, body)  # a retired secret
        assert (
            await client.post(f"/v1/partners/{partner}/heartbeats", content=body, headers=forged)
        ).status_code == 401

        items = await export(client)
        requests = [i for i in items if i["kind"] == "request"]
        changes = {i["action"]: i for i in items if i["kind"] == "change"}

        created = next(i for i in requests if i["action"] == "POST /v1/partners")
        assert (created["subject"], created["auth"], created["roles"], created["status"]) == (
            "ops-admin",
            "static",
            ["admin"],
            201,
        )
        assert (created["client_addr"], created["proxy_addr"]) == ("203.0.113.9", "127.0.0.1")
        assert (created["user_agent"], created["request_id"]) == ("audit-test/1.0", "req-audit-1")
        assert created["trace_id"]
        assert len(created["trace_id"]) == 32

        assert changes["partner.created"]["resource"] == {"partner_id": partner}
        assert changes["partner.created"]["detail"] == {"kind": "vendor", "secret_id": first_id}
        assert changes["partner.created"]["subject"] == "ops-admin"
        rotated = [i for i in items if i["action"] == "partner.secret_rotated"]
        assert [r["detail"]["secret_id"] for r in rotated] == [second_id, third_id]
        assert rotated[1]["detail"]["retired_secret_ids"] == [first_id]  # beyond two active, the oldest goes
        assert sorted(rotated[1]["detail"]["active_secret_ids"]) == sorted([second_id, third_id])
        assert changes["partner.devices_set"]["detail"] == {"device_ids": [device]}
        assert changes["partner.secret_retired"]["resource"] == {"partner_id": partner, "secret_id": second_id}

        rotate = "POST /v1/partners/{partner_id}/secrets"
        outcomes = [(i["auth"], i["subject"], i["status"]) for i in requests if i["action"] == rotate]
        assert outcomes == [
            ("static", "ops-admin", 201),
            ("static", "ops-admin", 201),
            ("anonymous", None, 401),
            ("invalid", None, 401),
            ("static", "duty-officer-7", 403),
        ]
        door = [i for i in requests if i["action"] == "POST /v1/partners/{partner_id}/heartbeats"]
        assert [(i["auth"], i["subject"], i["status"]) for i in door] == [
            ("partner", partner, door[0]["status"]),
            ("invalid", partner, 401),  # who it claimed to be; the signature did not verify
        ]

    # The whole of every row, searched for each secret and token: none is there.
    text = "\n".join(await all_rows_as_text(alerts_settings.database_url))
    for secret in (first, second, third, ADMIN, EDITOR, hash_token(ADMIN)):
        assert secret not in text


async def test_export_is_admin_only_pages_and_speaks_csv(alerts_settings: AlertsSettings) -> None:
    async with testing.running_app(alerts_app(alerts_settings)) as client:
        for i in range(3):
            r = await client.post(
                "/v1/partners", json={"partner_id": f"p-{i}-{testing.unique('x')}"}, headers=bearer(ADMIN)
            )
            assert r.status_code == 201
        assert (await client.get("/v1/audit")).status_code == 401
        assert (await client.get("/v1/audit", headers=bearer(EDITOR))).status_code == 403
        assert (await client.get("/v1/audit", headers=bearer(VIEWER))).status_code == 403

        r = await client.get("/v1/audit", params={"action": "POST /v1/partners", "limit": 2}, headers=bearer(ADMIN))
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) == 2
        assert page["next_after"] == page["items"][-1]["id"]
        assert 'rel="next"' in r.headers["link"]
        r = await client.get(
            "/v1/audit",
            params={"action": "POST /v1/partners", "limit": 2, "after": page["next_after"]},
            headers=bearer(ADMIN),
        )
        assert [i["status"] for i in r.json()["items"]] == [201]
        assert r.json()["next_after"] is None

        r = await client.get("/v1/audit", params={"format": "csv", "action": "partner.*"}, headers=bearer(ADMIN))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [row["action"] for row in rows] == ["partner.created"] * 3
        assert rows[0]["subject"] == "ops-admin"
        assert rows[0]["kind"] == "change"
        r = await client.get("/v1/audit", headers={**bearer(ADMIN), "accept": "text/csv"})
        assert r.text.startswith("id,occurred_at,service,kind,subject")

        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert await export(client, since=later) == []
        assert {i["subject"] for i in await export(client, subject="dashboard")} == {"dashboard"}  # its 403

        # Reading the audit log is audited too: the refused reads above are there.
        reads = await export(client, action="GET /v1/audit")
        assert {(i["subject"], i["status"]) for i in reads} >= {
            (None, 401),
            ("duty-officer-7", 403),
            ("ops-admin", 200),
        }


async def test_rows_survive_shutdown_and_lsg_admin_exports_and_prunes(
    alerts_settings: AlertsSettings, tmp_path: Path
) -> None:
    settings = alerts_settings.model_copy(update={"audit_flush_interval_s": 60.0})  # only the final flush writes
    async with testing.running_app(alerts_app(settings)) as client:
        r = await client.post("/v1/partners", json={"partner_id": testing.unique("late")}, headers=bearer(ADMIN))
        assert r.status_code == 201
        assert (await client.post("/v1/partners", json={})).status_code == 401
    dsn = settings.database_url
    text = await all_rows_as_text(dsn)
    assert sum('"action":"POST /v1/partners"' in t for t in text) == 2, text

    out = tmp_path / "audit.jsonl"
    with out.open("w", encoding="utf-8") as f:
        await admin.audit_export(dsn, f, "jsonl", action="POST /v1/partners")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(i["status"], i["auth"]) for i in lines] == [(201, "static"), (401, "anonymous")]
    buffer = io.StringIO()
    await admin.audit_export(dsn, buffer, "csv", since=datetime.now(UTC) + timedelta(days=1))
    assert buffer.getvalue().splitlines() == [",".join(audit.EXPORT_COLUMNS)]
    text = await all_rows_as_text(dsn)
    assert any('"action":"audit.exported"' in t and '"auth":"operator"' in t for t in text)

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO lsg_audit_log (occurred_at, service, kind, auth, action) "
            "VALUES (now() - interval '500 days', 'alerts', 'request', 'anonymous', 'POST /old')"
        )
    finally:
        await conn.close()
    code = await asyncio.to_thread(admin.main, ["audit", "prune", "--database-url", dsn, "--days", "400"])
    assert code == 0
    text = await all_rows_as_text(dsn)
    assert not any("POST /old" in t for t in text)
    assert len(text) >= 3


async def test_survey_answers_never_reach_the_audit_log(database_url: str, kafka_bootstrap: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "surveys" / "tests"))
    from surveys_support import (  # type: ignore[import-not-found]
        ADMIN as SURVEYS_ADMIN,
    )
    from surveys_support import (
        EDITOR as SURVEYS_EDITOR,
    )
    from surveys_support import (
        PERSONAL_MARKERS,
        response_body,
        settings,
        survey_body,
    )

    from lsg_surveys.entrypoints.app import create_app

    cid = testing.unique("audit-survey")
    async with testing.running_app(create_app(settings(database_url, kafka_bootstrap))) as client:
        assert (
            await client.post("/v1/campaigns", json=survey_body(cid), headers=bearer(SURVEYS_ADMIN))
        ).status_code == 201
        assert (await client.post(f"/v1/campaigns/{cid}/open", headers=bearer(SURVEYS_ADMIN))).status_code == 200
        body = response_body(1)
        r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=bearer(SURVEYS_EDITOR))
        assert r.status_code == 201, r.text
        items = await client.get("/v1/audit", headers=bearer(SURVEYS_ADMIN))
        recorded = [i for i in items.json()["items"] if i["action"] == "POST /v1/campaigns/{campaign_id}/responses"]
        assert [(i["subject"], i["status"], i["resource"]) for i in recorded] == [("editor", 201, {"campaign_id": cid})]
    text = "\n".join(await all_rows_as_text(database_url))
    for marker in (*PERSONAL_MARKERS, body["answers"]["q_comment"], body["submission_id"]):
        assert marker not in text


async def test_a_row_postgresql_refuses_is_dropped_and_the_others_written(database_url: str) -> None:
    from lsg_shared import db, migrate

    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate.apply(conn, migrate.discover("lsg_shared"))
        writer = audit.AuditWriter("test")
        writer.start(pool)
        good = (datetime.now(UTC), "test", "request", "s1", "static", [], [], [], "POST /a", {}, None, 201)
        writer.add((*good, None, None, None, None, None))
        writer.add((*good[:4], "not-a-kind-of-auth", *good[5:], None, None, None, None, None))  # breaks a CHECK
        writer.add((*good[:8], "POST /b", *good[9:], None, None, None, None, None))
        assert await writer.flush() == 2
        assert writer.rows == []
        await writer.stop()
        async with pool.acquire() as conn:
            assert [r["action"] for r in await conn.fetch("SELECT action FROM lsg_audit_log ORDER BY id")] == [
                "POST /a",
                "POST /b",
            ]
    finally:
        await pool.close()
