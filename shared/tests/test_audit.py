"""The audit middleware and helpers without a database: what a row holds, and what it never holds."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from lsg_shared import audit, problems
from lsg_shared.audit import COLUMNS, AuditMiddleware, AuditWriter, client_address, parse_networks
from lsg_shared.auth import Principal, TokenEntry, TokenRegistry, hash_token, require
from lsg_shared.http import BodyLimitMiddleware

pytestmark = pytest.mark.component

SECRET_QUERY = "access_token=do-not-log-me"


class Answers(BaseModel):
    answers: dict[str, str]


def make_app(trusted: str = "") -> tuple[FastAPI, AuditWriter]:
    app = FastAPI()
    problems.install(app)
    writer = AuditWriter("test")
    app.add_middleware(BodyLimitMiddleware, max_bytes=200)
    app.add_middleware(AuditMiddleware, writer=writer, trusted_proxies=trusted)
    app.state.tokens = TokenRegistry(
        [
            TokenEntry(sha256=hash_token("ed"), subject="editor-7", roles=["editor"], countries=["LV"]),
            TokenEntry(sha256=hash_token("vw"), subject="viewer-1", roles=["viewer"]),
        ]
    )

    @app.post("/v1/campaigns/{campaign_id}/responses", status_code=201)
    async def submit(campaign_id: str, body: Answers, who: Principal = Depends(require("editor"))) -> dict[str, str]:
        return {"by": who.subject}

    @app.get("/v1/things")
    async def read(who: Principal = Depends(require("viewer"))) -> dict[str, str]:
        return {"by": who.subject}

    return app, writer


def rows(writer: AuditWriter) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in writer.rows]


async def call(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, url, **kwargs)


async def test_a_write_records_who_what_where_and_never_the_body_or_query() -> None:
    app, writer = make_app()
    body = {"answers": {"q_comment": "Privāts komentārs: zvaniet man"}}
    headers = {
        "Authorization": "Bearer ed",
        "User-Agent": "kobo-sync/2.1",
        "X-Request-ID": "req-42",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    r = await call(app, "POST", f"/v1/campaigns/c-9/responses?{SECRET_QUERY}", json=body, headers=headers)
    assert r.status_code == 201
    (row,) = rows(writer)
    assert row["kind"] == "request"
    assert row["subject"] == "editor-7"
    assert row["auth"] == "static"
    assert row["roles"] == ["editor"]
    assert row["countries"] == ["LV"]
    assert row["action"] == "POST /v1/campaigns/{campaign_id}/responses"
    assert row["resource"] == {"campaign_id": "c-9"}
    assert row["status"] == 201
    assert row["client_addr"] == "10.1.2.3"
    assert row["proxy_addr"] is None
    assert row["request_id"] == "req-42"
    assert row["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert row["user_agent"] == "kobo-sync/2.1"
    text = repr(row)
    for never in ("Privāts", "zvaniet", "do-not-log-me", "Bearer", "ed'"):
        assert never not in text


async def test_refusals_are_recorded_with_how_the_caller_failed() -> None:
    app, writer = make_app()
    url = "/v1/campaigns/c-1/responses"
    body = {"answers": {}}
    assert (await call(app, "POST", url, json=body)).status_code == 401
    assert (await call(app, "POST", url, json=body, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await call(app, "POST", url, json=body, headers={"Authorization": "Bearer vw"})).status_code == 403
    assert (await call(app, "POST", url, content=b"x" * 500, headers={"Authorization": "Bearer ed"})).status_code == 413
    assert (await call(app, "DELETE", "/nowhere/secret-looking-path")).status_code in (404, 405)
    found = [(r["auth"], r["subject"], r["status"], r["action"]) for r in rows(writer)]
    action = "POST /v1/campaigns/{campaign_id}/responses"
    assert found == [
        ("anonymous", None, 401, action),
        ("invalid", None, 401, action),
        ("static", "viewer-1", 403, action),
        ("anonymous", None, 413, action),  # answered by the body limit before any route ran
        ("anonymous", None, found[-1][2], "DELETE <unmatched>"),
    ]
    assert "secret-looking-path" not in repr(rows(writer))


async def test_reads_are_not_audited() -> None:
    app, writer = make_app()
    assert (await call(app, "GET", "/v1/things", headers={"Authorization": "Bearer vw"})).status_code == 200
    assert writer.rows == []


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    app, writer = make_app(trusted="10.0.0.0/8")
    headers = {"Authorization": "Bearer ed", "X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.9.9.9"}
    await call(app, "POST", "/v1/campaigns/c/responses", json={"answers": {}}, headers=headers)
    (row,) = rows(writer)
    # The right-most address that is not one of our proxies; what the client itself claimed (6.6.6.6) is not it.
    assert (row["client_addr"], row["proxy_addr"]) == ("203.0.113.9", "10.1.2.3")

    untrusted = parse_networks("192.168.0.1")
    scope = {"client": ("10.1.2.3", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert client_address(scope, untrusted) == ("10.1.2.3", None)


def test_the_writer_buffer_is_bounded() -> None:
    writer = AuditWriter("test", buffer_max=3)
    for i in range(5):
        writer.add((i,))
    assert writer.rows == [(0,), (1,), (2,)]


async def test_a_change_detail_cannot_carry_a_secret_or_answers() -> None:
    for detail in ({"secret": "x"}, {"partner": {"token": "x"}}, {"items": [{"answers": {}}]}):
        with pytest.raises(ValueError, match="never holds"):
            await audit.change(None, "partner.created", detail=detail)  # type: ignore[arg-type]


def test_csv_cells_never_start_a_formula() -> None:
    item = dict.fromkeys(audit.EXPORT_COLUMNS)
    item.update(id=1, user_agent='=HYPERLINK("http://x")', roles=["admin"], resource={"partner_id": "p1"})
    lines = "".join(audit.csv_lines([item]))
    parsed = list(csv.DictReader(io.StringIO(lines)))
    assert parsed[0]["user_agent"].startswith("'=")
    assert parsed[0]["roles"] == "admin"
    assert parsed[0]["resource"] == '{"partner_id":"p1"}'


def test_query_filters_and_prefix() -> None:
    sql, args = audit.query(subject="ops", action="POST /v1/partners*", after=10, limit=5)
    assert "subject = $1" in sql
    assert "action LIKE $2" in sql
    assert "id > $3" in sql
    assert "LIMIT $4" in sql
    assert args == ["ops", "POST /v1/partners%", 10, 5]
    assert audit.query(action="a_b*")[1] == ["a\\_b%"]


def test_text_is_made_storable() -> None:
    assert audit.clean("a\x00b\ud800", 10) == "ab?"


class _DownPool:
    """A pool whose PostgreSQL is unreachable."""

    def acquire(self) -> Any:
        raise ConnectionRefusedError("PostgreSQL is down")


async def test_rows_wait_in_memory_while_postgresql_is_unreachable() -> None:
    writer = AuditWriter("test")
    writer.start(_DownPool())  # type: ignore[arg-type]
    try:
        writer.add(("a",))
        writer.add(("b",))
        assert await writer.flush() == 0
        assert writer.rows == [("a",), ("b",)]
        assert writer.last_error is not None
    finally:
        await writer.stop()
    assert writer.rows == [("a",), ("b",)]


def test_a_kafka_delivery_row_names_the_partner_as_verified_or_only_claimed() -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    common: dict[str, Any] = {
        "resource": {"partner_id": "vendor-1"},
        "detail": {"partition": 2, "offset": 41, "outcome": "raised"},
    }
    ok = dict(
        zip(
            COLUMNS,
            audit.delivery(
                "alerts",
                "KAFKA t alert",
                subject="vendor-1",
                verified=True,
                status=202,
                trace_id=audit.trace_id_of(traceparent),
                **common,
            ),
            strict=True,
        )
    )
    assert (ok["kind"], ok["subject"], ok["auth"], ok["status"]) == ("request", "vendor-1", "partner", 202)
    assert ok["action"] == "KAFKA t alert"
    assert ok["resource"] == {"partner_id": "vendor-1"}
    assert ok["detail"] == {"partition": 2, "offset": 41, "outcome": "raised"}
    assert ok["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert (ok["client_addr"], ok["request_id"], ok["roles"]) == (None, None, [])
    refused = dict(
        zip(
            COLUMNS,
            audit.delivery("alerts", "KAFKA t alert", subject="vendor-1", verified=False, status=401, **common),
            strict=True,
        )
    )
    assert (refused["auth"], refused["subject"], refused["trace_id"]) == ("invalid", "vendor-1", None)
    assert audit.trace_id_of("not-a-traceparent") is None
    with pytest.raises(ValueError, match="secret"):
        audit.delivery(
            "alerts", "KAFKA t alert", subject=None, verified=False, status=401, resource={}, detail={"secret": "x"}
        )
