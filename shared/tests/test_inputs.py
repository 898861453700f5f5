"""The input guard: NUL and unpaired surrogates refused with 422 naming the field, paging bounded, database
data errors answered as 4xx problems (the last line of defence), on a FastAPI app with the shared handlers."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field

from lsg_shared import problems
from lsg_shared.deps import Limit, Offset
from lsg_shared.inputs import InputGuardMiddleware, RequestModel, SafeText, text_fault

pytestmark = pytest.mark.unit


class Inner(RequestModel):
    label: str


class Body(RequestModel):
    name: str
    tags: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    inner: Inner | None = None


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(InputGuardMiddleware)

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/things")
    async def search(q: SafeText = "", offset: Offset = 0, limit: Limit = 10) -> dict[str, Any]:
        return {"q": q, "offset": offset, "limit": limit}

    @app.get("/things/{thing_id}")
    async def get(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/fk")
    async def fk() -> None:
        raise asyncpg.ForeignKeyViolationError("insert or update violates foreign key constraint")

    @app.get("/range")
    async def out_of_range() -> None:
        raise asyncpg.NumericValueOutOfRangeError("bigint out of range")

    return app


async def _call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        return await client.request(method, url, **kwargs)


def test_text_fault_names_nul_and_surrogates() -> None:
    assert text_fault("Rīga, Выборг") is None
    assert "NUL" in (text_fault("a\x00b") or "")
    assert "surrogate" in (text_fault("a\ud800") or "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"name": "a\\u0000b"}', "name"),
        ('{"name": "a\\ud800"}', "name"),
        ('{"name": "ok", "tags": ["x", "\\u0000"]}', "tags"),
        ('{"name": "ok", "meta": {"k\\u0000": 1}}', "meta"),
        ('{"name": "ok", "inner": {"label": "\\u0000"}}', "inner.label"),
    ],
)
async def test_body_text_postgres_cannot_store_is_422_naming_the_field(body: str, field: str) -> None:
    r = await _call("POST", "/things", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == problems.MEDIA_TYPE
    assert [e["field"] for e in r.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/things?q=%00", "query:q"),
        ("/things?q=%ED%A0%80", "query:q"),
        ("/things?q=%FF", "query:q"),
        ("/things/a%00b", "path"),
    ],
)
async def test_query_and_path_text_is_guarded_before_routing(url: str, field: str) -> None:
    r = await _call("GET", url)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == problems.MEDIA_TYPE
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_good_text_passes() -> None:
    r = await _call("GET", "/things?q=R%C4%ABga%20%D0%92%D1%8B%D0%B1%D0%BE%D1%80%D0%B3")
    assert r.status_code == 200
    assert r.json()["q"] == "Rīga Выборг"


@pytest.mark.parametrize("param", ["offset=99999999999999999999", "limit=100000", "offset=-1", "limit=0"])
async def test_paging_is_bounded(param: str) -> None:
    r = await _call("GET", f"/things?{param}")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "query:" + param.split("=")[0]


async def test_database_data_errors_are_4xx_not_500() -> None:
    fk = await _call("GET", "/fk")
    assert fk.status_code == 422
    assert fk.json()["type"].endswith("unknown-reference")
    out = await _call("GET", "/range")
    assert out.status_code == 422
    assert out.headers["content-type"] == problems.MEDIA_TYPE


class Wrapped(RequestModel):
    place: Any  # a contract model that is not a RequestModel (lsg_events' Place, say)


def test_a_contract_model_inside_a_request_is_checked_too() -> None:
    from pydantic import BaseModel, ValidationError

    class Place(BaseModel):
        name: str

    with pytest.raises(ValidationError) as caught:
        Wrapped(place=Place(name="Rī\x00ga"))
    assert caught.value.errors()[0]["loc"] == ("place",)


def test_problem_helpers_name_the_field_and_type() -> None:
    missing = problems.not_found("programme", "P-1", field="programme_id")
    assert missing.status == 404
    assert missing.errors == [{"field": "programme_id", "message": "No programme 'P-1'.", "value": "P-1"}]
    busy = problems.conflict("It is closed.", field="session_id", type_="session-closed")
    assert (busy.status, busy.type, busy.errors[0]["field"]) == (409, "session-closed", "session_id")  # type: ignore[index]
    bad = problems.invalid_field("modules", "must not be empty", type_="empty-rule")
    assert (bad.status, bad.type) == (422, "empty-rule")
