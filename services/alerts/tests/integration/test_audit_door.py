"""The audit log of the alerts service on real PostgreSQL: partner management (who created, rotated, retired;
secret ids, never a secret) and the signed partner door (the partner as subject, verified or only claimed).

Moved from ``shared/tests/test_audit_integration.py``, which now tests the audit plumbing on a minimal app of its
own; what is left here is what only the alerts service can show."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet

from lsg_alerts.entrypoints.app import create_app as alerts_app
from lsg_alerts.settings import AlertsSettings
from lsg_events.partner import signed_headers
from lsg_local import testing
from lsg_shared.auth import hash_token
from lsg_shared.settings import KafkaSettings
from lsg_testkit.alerts import heartbeat_json, settlement_place
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka]

ADMIN, EDITOR, VIEWER = "audit-admin-token", "audit-editor-token", "audit-viewer-token"
TOKENS = api_tokens(
    grant(ADMIN, "ops-admin", ["admin"]),
    grant(EDITOR, "duty-officer-7", ["editor"], countries=["LV"]),
    grant(VIEWER, "dashboard", ["viewer"]),
)
PROXY = {"x-forwarded-for": "203.0.113.9", "user-agent": "audit-test/1.0", "x-request-id": "req-audit-1"}


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
