"""problem+json answers, the body limit, and bearer-token roles, on a minimal app built like the services'."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field

from lsg_shared import problems
from lsg_shared.auth import Principal, TokenEntry, TokenRegistry, ensure_scope, hash_token, require
from lsg_shared.http import BodyLimitMiddleware

pytestmark = pytest.mark.component


class Body(BaseModel):
    score: int = Field(ge=1, le=5)
    name: str


def make_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=1000)
    app.state.tokens = TokenRegistry(
        [
            TokenEntry(sha256=hash_token("ed-lv"), subject="ed", roles=["editor"], countries=["LV"]),
            TokenEntry(sha256=hash_token("viewer"), subject="v", roles=["viewer"]),
        ]
    )

    @app.post("/things")
    async def create(body: Body, who: Principal = Depends(require("editor"))) -> dict[str, str]:
        ensure_scope(who, "LV")
        return {"by": who.subject}

    @app.post("/ru-things")
    async def create_ru(who: Principal = Depends(require("editor"))) -> dict[str, str]:
        ensure_scope(who, "RU")
        return {"by": who.subject}

    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c  # type: ignore[misc]


AUTH = {"Authorization": "Bearer ed-lv"}


async def test_validation_error_names_each_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"score": 9}, headers=AUTH)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"score", "name"}
    assert "score" in r.json()["detail"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", content=b"{nope", headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["type"].endswith("malformed-json")


async def test_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", content=json.dumps({"name": "x" * 5000, "score": 1}), headers=AUTH)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("headers", "path", "status"),
    [
        ({}, "/things", 401),
        ({"Authorization": "Bearer wrong"}, "/things", 401),
        ({"Authorization": "Basic ed-lv"}, "/things", 401),
        ({"Authorization": "Bearer viewer"}, "/things", 403),
        (AUTH, "/ru-things", 403),
    ],
)
async def test_auth_refusals(client: httpx.AsyncClient, headers: dict[str, str], path: str, status: int) -> None:
    r = await client.post(path, json={"score": 3, "name": "a"}, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


async def test_authorised_editor_in_scope(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"score": 3, "name": "Jānis"}, headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"by": "ed"}


async def test_lone_surrogate_in_input_is_answered_not_500(client: httpx.AsyncClient) -> None:
    body = b'{"score": "\\ud800", "name": "a"}'
    r = await client.post("/things", content=body, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "score"


def test_summary_line_names_the_figures_operators_look_at() -> None:
    from lsg_shared import metrics, sampler

    metrics.EVENTS_CONSUMED.labels("summary-test", "lv.lsg.x.v1", "processed").inc(3)
    metrics.OUTBOX_BACKLOG.labels("summary-test").set(2)
    line = sampler.summary_line("summary-test")
    assert line.startswith("summary summary-test: consumed processed=")
    for part in ("duplicate=", "dead_lettered=", "outbox published=", "backlog=", "lag=", "http requests=", "ready="):
        assert part in line
    processed = int(line.split("processed=")[1].split()[0])
    assert processed >= 3


async def test_chunked_body_over_limit_is_413() -> None:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=1000)

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:  # reads the body itself, as the partner doors do
        return {"size": len(await request.body())}

    async def chunks(n: int):  # no content-length: the middleware counts what arrives
        for _ in range(n):
            yield b"x" * 400

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/raw", content=chunks(2))).json() == {"size": 800}
        r = await c.post("/raw", content=chunks(6))
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert (await c.post("/raw", content=b"x" * 900)).json() == {"size": 900}  # declared, within the limit
        assert (await c.post("/raw", content=b"x" * 1001)).status_code == 413


async def test_request_metrics_are_labelled_by_route_template() -> None:
    from fastapi import APIRouter

    from lsg_shared import metrics
    from lsg_shared.http import MetricsMiddleware

    app = FastAPI()
    router = APIRouter(prefix="/v1")

    @router.post("/partners/{partner_id}/alerts")
    async def door(partner_id: str) -> dict[str, str]:
        return {"partner": partner_id}

    app.include_router(router)
    app.add_middleware(MetricsMiddleware, service="route-label-test")

    def count(route: str, status: str) -> float:
        value = metrics.registry.get_sample_value(
            "lsg_http_request_duration_seconds_count",
            {"service": "route-label-test", "method": "POST", "route": route, "status": status},
        )
        return value or 0.0

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for partner in ("a", "b"):
            assert (await c.post(f"/v1/partners/{partner}/alerts")).status_code == 200
        assert (await c.post("/v1/nowhere")).status_code == 404
    assert count("/v1/partners/{partner_id}/alerts", "200") == 2
    assert count("unmatched", "404") == 1


async def test_chunked_json_body_over_limit_is_the_documented_413_not_fastapis_400() -> None:
    """FastAPI parses a JSON body itself and turned the failed read into its own 400: one answer for an
    oversize body, whichever route and limit: 413 ``too-large`` with ``errors[]`` naming the body."""
    app = make_app()

    async def chunks(n: int):
        yield b'{"score": 1, "name": "'
        for _ in range(n):
            yield b"x" * 400
        yield b'"}'

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/things", content=chunks(5), headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413, r.text
    problem = r.json()
    assert problem["type"].endswith("/too-large")
    assert problem["errors"][0]["field"] == "body"
    assert problem["instance"] == "/things"


async def test_a_body_that_is_not_utf8_is_a_400_problem_naming_the_body(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/things", content=b'{"name": "\xff\xfe", "score": 1}', headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body"
