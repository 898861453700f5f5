"""The audit log on real PostgreSQL, through a minimal app of its own built with the shared app factory: request
rows (who, from where, refusals included), changes recorded in a route's transaction, a signed door's partner,
answers in a body never stored; export as JSON, CSV and from lsg-admin; retention. Each test has its own database.

What only a service can show (the alerts service's partner management and its signed doors) is tested there:
``services/alerts/tests/integration/test_audit_door.py``."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from lsg_local import testing
from lsg_shared import admin, audit, migrate
from lsg_shared.app import build_app
from lsg_shared.auth import hash_token
from lsg_shared.deps import Admin, Editor, RuntimeDep
from lsg_shared.problems import Problem
from lsg_shared.runtime import Runtime
from lsg_shared.settings import KafkaSettings, ServiceSettings
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka]

ADMIN, EDITOR, VIEWER = "audit-admin-token", "audit-editor-token", "audit-viewer-token"
TOKENS = api_tokens(
    grant(ADMIN, "ops-admin", ["admin"]),
    grant(EDITOR, "duty-officer-7", ["editor"], countries=["LV"]),
    grant(VIEWER, "dashboard", ["viewer"]),
)
PROXY = {"x-forwarded-for": "203.0.113.9", "user-agent": "audit-test/1.0", "x-request-id": "req-audit-1"}
PERSONAL_MARKERS = ("Jānis", "Bērziņš", "+371", "3712000", "Privāts komentārs", "zvaniet")


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- the minimal app: a few routes that do what the audit log must record ------------------------------------
class NewPartner(BaseModel):
    partner_id: str


class SurveyResponse(BaseModel):
    submission_id: str
    respondent: dict[str, str]
    answers: dict[str, Any]


async def shared_migrations(rt: Runtime) -> None:
    # The app's package is lsg_shared itself, which has no service migrations to add: apply the shared ones only.
    async with rt.pool.acquire() as conn:
        await migrate.apply(conn, migrate.discover("lsg_shared"))


def minimal_app(settings: ServiceSettings) -> FastAPI:
    """Partners with secrets (created and rotated by admins), a door signed with a partner's secret, and a survey
    response route (editors): a request row each, a change row for each partner change."""
    secrets_of: dict[str, dict[str, str]] = {}  # partner -> secret id -> secret
    router = APIRouter()

    def new_secret(partner_id: str) -> tuple[str, str]:
        secret_id, secret = f"s-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
        secrets_of.setdefault(partner_id, {})[secret_id] = secret
        return secret_id, secret

    @router.post("/v1/partners", status_code=201)
    async def create_partner(body: NewPartner, rt: RuntimeDep, _: Admin) -> dict[str, str]:
        secret_id, secret = new_secret(body.partner_id)
        async with rt.uow.begin() as tx:
            await audit.change(
                tx.conn, "partner.created", resource={"partner_id": body.partner_id}, detail={"secret_id": secret_id}
            )
        return {"partner_id": body.partner_id, "secret_id": secret_id, "secret": secret}

    @router.post("/v1/partners/{partner_id}/secrets", status_code=201)
    async def rotate_secret(partner_id: str, rt: RuntimeDep, _: Admin) -> dict[str, str]:
        secret_id, secret = new_secret(partner_id)
        async with rt.uow.begin() as tx:
            await audit.change(
                tx.conn, "partner.secret_rotated", resource={"partner_id": partner_id}, detail={"secret_id": secret_id}
            )
        return {"secret_id": secret_id, "secret": secret}

    @router.post("/v1/partners/{partner_id}/heartbeats", status_code=202)
    async def heartbeat(partner_id: str, request: Request) -> dict[str, str]:
        body, claimed = await request.body(), request.headers.get("x-signature", "")
        verified = any(
            hmac.compare_digest(claimed, signature(s, body)) for s in secrets_of.get(partner_id, {}).values()
        )
        audit.identify_partner(request, partner_id, verified=verified)
        if not verified:
            raise Problem(401, "Unauthorized", "The signature does not verify with any of the partner's secrets.")
        return {"status": "accepted"}

    @router.post("/v1/campaigns/{campaign_id}/responses", status_code=201)
    async def respond(campaign_id: str, body: SurveyResponse, _: Editor) -> dict[str, str]:
        return {"campaign_id": campaign_id, "submission_id": body.submission_id}

    return build_app(
        name="audit-test",
        package="lsg_shared",
        settings=settings,
        title="audit test",
        description="A minimal service for the audit log's tests",
        routers=[router],
        on_startup=[shared_migrations],
        run_relay=False,
        migrate_on_start=False,
    )


# ---- helpers and fixtures ---------------------------------------------------------------------------------------
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
def settings(database_url: str, kafka_bootstrap: str) -> ServiceSettings:
    return ServiceSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=kafka_bootstrap, create_topics=False),
        api_tokens=TOKENS,
        trusted_proxies="127.0.0.1",  # httpx's in-process transport calls from 127.0.0.1
    )


# ---- the tests ----------------------------------------------------------------------------------------------------
async def test_requests_changes_and_a_signed_door_are_audited_without_any_secret(settings: ServiceSettings) -> None:
    partner = testing.unique("vendor")
    async with testing.running_app(minimal_app(settings)) as client:
        r = await client.post("/v1/partners", json={"partner_id": partner}, headers={**bearer(ADMIN), **PROXY})
        assert r.status_code == 201, r.text
        first_id, first = r.json()["secret_id"], r.json()["secret"]
        r = await client.post(f"/v1/partners/{partner}/secrets", headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        second_id, second = r.json()["secret_id"], r.json()["secret"]

        # Refusals: no token, an unknown token, too low a role.
        assert (await client.post(f"/v1/partners/{partner}/secrets")).status_code == 401
        assert (await client.post(f"/v1/partners/{partner}/secrets", headers=bearer("stolen?"))).status_code == 401
        assert (await client.post(f"/v1/partners/{partner}/secrets", headers=bearer(EDITOR))).status_code == 403

        # The signed door: a verified heartbeat, and a forged one.
        body = json.dumps({"device_id": "siren-1", "battery": 90}).encode()
        r = await client.post(
            f"/v1/partners/{partner}/heartbeats", content=body, headers={"x-signature": signature(second, body)}
        )
        assert r.status_code == 202, r.text
        forged = {"x-signature": signature("not-a-secret-of-theirs", body)}
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
        assert changes["partner.created"]["detail"] == {"secret_id": first_id}
        assert changes["partner.created"]["subject"] == "ops-admin"
        assert changes["partner.created"]["request_id"] == "req-audit-1"  # the change shares its request's context
        assert changes["partner.secret_rotated"]["detail"] == {"secret_id": second_id}

        rotate = "POST /v1/partners/{partner_id}/secrets"
        outcomes = [(i["auth"], i["subject"], i["status"]) for i in requests if i["action"] == rotate]
        assert outcomes == [
            ("static", "ops-admin", 201),
            ("anonymous", None, 401),
            ("invalid", None, 401),
            ("static", "duty-officer-7", 403),
        ]
        door = [i for i in requests if i["action"] == "POST /v1/partners/{partner_id}/heartbeats"]
        assert [(i["auth"], i["subject"], i["status"]) for i in door] == [
            ("partner", partner, 202),
            ("invalid", partner, 401),  # who it claimed to be; the signature did not verify
        ]

    # The whole of every row, searched for each secret and token: none is there.
    text = "\n".join(await all_rows_as_text(settings.database_url))
    for secret in (first, second, ADMIN, EDITOR, hash_token(ADMIN)):
        assert secret not in text


async def test_export_is_admin_only_pages_and_speaks_csv(settings: ServiceSettings) -> None:
    async with testing.running_app(minimal_app(settings)) as client:
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
    settings: ServiceSettings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"audit_flush_interval_s": 60.0})  # only the final flush writes
    async with testing.running_app(minimal_app(settings)) as client:
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
            "VALUES (now() - interval '500 days', 'audit-test', 'request', 'anonymous', 'POST /old')"
        )
    finally:
        await conn.close()
    code = await asyncio.to_thread(admin.main, ["audit", "prune", "--database-url", dsn, "--days", "400"])
    assert code == 0
    text = await all_rows_as_text(dsn)
    assert not any("POST /old" in t for t in text)
    assert len(text) >= 3


async def test_survey_answers_never_reach_the_audit_log(settings: ServiceSettings) -> None:
    cid = testing.unique("audit-survey")
    body: dict[str, Any] = {
        "submission_id": "sub-1",
        "respondent": {"name": "Jānis Bērziņš 1", "phone": "+371 20000001"},
        "answers": {"q_dialogue": 4, "q_comment": "Privāts komentārs: zvaniet man"},
    }
    async with testing.running_app(minimal_app(settings)) as client:
        r = await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=bearer(EDITOR))
        assert r.status_code == 201, r.text
        items = await client.get("/v1/audit", headers=bearer(ADMIN))
        recorded = [i for i in items.json()["items"] if i["action"] == "POST /v1/campaigns/{campaign_id}/responses"]
        assert [(i["subject"], i["status"], i["resource"]) for i in recorded] == [
            ("duty-officer-7", 201, {"campaign_id": cid})
        ]
    text = "\n".join(await all_rows_as_text(settings.database_url))
    for marker in (*PERSONAL_MARKERS, body["answers"]["q_comment"], body["submission_id"]):
        assert marker not in text


async def test_a_row_postgresql_refuses_is_dropped_and_the_others_written(database_url: str) -> None:
    from lsg_shared import db

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
