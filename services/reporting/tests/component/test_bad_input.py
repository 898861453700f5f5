"""Bad input gets a 4xx problem naming the field, never a 500 (issue 23), on the real app and database.

- GET /v1/deliverables (and the sources' paging): offset/limit past what PostgreSQL's bigint holds used to fail
  in the database; they are bounded now and refused with 422 naming the parameter.
- A NUL (or an unpaired surrogate) in a deliverable body's text, or in a text filter, is refused with 422 naming
  the field, before anything reaches PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import AUTH, TOKENS
from lsg_local.testing import running_app
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings

pytestmark = [pytest.mark.component, pytest.mark.postgres]

HUGE = str(2**63)  # one past PostgreSQL's bigint
BODY = {
    "deliverable_id": "bad-input-1",
    "kind": "handbook_elders",
    "quantity": 1,
    "language": "ru",
    "recorded_on": "2025-09-01",
}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    settings = ReportingSettings(database_url=database_url, api_tokens=TOKENS, consume=False, publish_figures=False)
    async with running_app(create_app(settings)) as client:
        yield client


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("name", ["offset", "limit"])
async def test_deliverables_paging_past_bigint_is_refused_naming_the_parameter(client: Any, name: str) -> None:
    response = await client.get("/v1/deliverables", params={name: HUGE}, headers=AUTH["viewer"])
    assert _fields(response) == [f"query:{name}"]


async def test_deliverables_paging_in_bounds_still_answers(client: Any) -> None:
    response = await client.get("/v1/deliverables", params={"offset": "0", "limit": "1000"}, headers=AUTH["viewer"])
    assert response.status_code == 200
    assert response.json() == {"items": []}


@pytest.mark.parametrize("name", ["offset", "limit"])
async def test_sources_paging_past_bigint_is_refused_naming_the_parameter(client: Any, name: str) -> None:
    path = "/v1/indicators/SD.SAT_DIALOGUE_MEAN/sources"
    response = await client.get(path, params={name: HUGE}, headers=AUTH["viewer"])
    assert _fields(response) == [f"query:{name}"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deliverable_id", "a\x00b"),
        ("kind", "handbook\x00elders"),
        ("place", {"country": "LV", "municipality": {"code": "0001", "name": {"lv": "R\x00", "ru": "R", "en": "R"}}}),
    ],
)
async def test_a_nul_in_a_deliverable_body_is_refused_naming_the_field(client: Any, field: str, value: Any) -> None:
    for method, path in (("POST", "/v1/deliverables"), ("PUT", "/v1/deliverables/bad-input-1")):
        response = await client.request(method, path, json={**BODY, field: value}, headers=AUTH["editor"])
        assert field in _fields(response)[0], response.text


async def test_an_unpaired_surrogate_in_a_deliverable_body_is_refused(client: Any) -> None:
    body = '{"kind": "handbook\\ud800", "quantity": 1, "recorded_on": "2025-09-01"}'
    response = await client.post(
        "/v1/deliverables", content=body, headers={**AUTH["editor"], "content-type": "application/json"}
    )
    assert _fields(response) == ["kind"]


@pytest.mark.parametrize("param", ["as_of", "area", "period", "breakdown"])
async def test_a_nul_in_a_text_filter_is_refused_naming_the_parameter(client: Any, param: str) -> None:
    response = await client.get("/v1/indicators/SD.SAT_DIALOGUE_MEAN", params={param: "x\x00"})
    assert _fields(response) == [f"query:{param}"]
