"""Property test: whatever a client sends to the response endpoints, the answer is never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from surveys_support import ADMIN, EDITOR, auth, response_body, survey_body

from lsg_local.testing import unique

pytestmark = [
    pytest.mark.component,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning"),
]

nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff x", "‮", "💥" * 10, "uuid:", " ", "NaN", "1e999", "-0"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=20,
)
answer_values = st.one_of(scalars, st.lists(st.one_of(nasty_text, st.integers()), max_size=4))
question_ids = st.sampled_from(
    ["q_dialogue", "q_involvement", "q_channel", "q_topics", "q_meetings", "q_comment", "zz"]
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with a few fields replaced by random values: reaches deep into the checks."""
    body = response_body(draw(st.integers(0, 10**6)))
    body["submission_id"] = draw(st.one_of(st.none(), nasty_text, st.just(unique("s"))))
    body["answers"] = draw(st.dictionaries(question_ids, answer_values, max_size=7))
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=3)):
        body[key] = draw(json_values)
    if draw(st.booleans()):
        body[draw(nasty_text)] = draw(json_values)
    return body


def encode(value: Any) -> bytes:
    # allow_nan: Python's json writes NaN/Infinity, which some clients do send.
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


_campaign: dict[str, str] = {}


async def campaign_id(client: Any) -> str:
    if "id" not in _campaign:
        cid = unique("fuzz")
        assert (await client.post("/v1/campaigns", json=survey_body(cid), headers=auth(ADMIN))).status_code == 201
        assert (await client.post(f"/v1/campaigns/{cid}/open", headers=auth(ADMIN))).status_code == 200
        _campaign["id"] = cid
    return _campaign["id"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(near_valid(), json_values.map(encode), st.binary(max_size=200)))
async def test_random_payloads_never_get_a_5xx(client: Any, payload: Any) -> None:
    cid = await campaign_id(client)
    content = payload if isinstance(payload, bytes) else encode(payload)
    headers = {**auth(EDITOR), "content-type": "application/json"}
    r = await client.post(f"/v1/campaigns/{cid}/responses", content=content, headers=headers)
    assert r.status_code < 500, (r.status_code, r.text[:500], content[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(near_valid(), json_values), max_size=5), partial=st.booleans())
async def test_random_batches_and_imports_never_get_a_5xx(client: Any, rows: list[Any], partial: bool) -> None:
    cid = await campaign_id(client)
    params = {"partial": str(partial).lower()}
    for url, body in (
        (f"/v1/campaigns/{cid}/responses/batch", {"responses": rows}),
        (f"/v1/campaigns/{cid}/imports/kobo", rows),
    ):
        r = await client.post(
            url, params=params, content=encode(body), headers={**auth(EDITOR), "content-type": "application/json"}
        )
        assert r.status_code < 500, (url, r.status_code, r.text[:500])
