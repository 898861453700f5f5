"""The compatibility gate: additive changes pass, breaking ones are named."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, Field

from lsg_events import SurveyCompleted
from lsg_events.alerts import AlertRaised
from lsg_shared import compat, contracts

pytestmark = pytest.mark.unit


def schema() -> dict[str, Any]:
    return contracts.json_schema(AlertRaised)


def test_identical_is_compatible() -> None:
    assert compat.breaking_changes(schema(), schema()) == []


def test_additive_optional_field_passes() -> None:
    new = copy.deepcopy(schema())
    new["properties"]["siren_zone"] = {"type": "string"}
    assert compat.breaking_changes(schema(), new) == []


def test_new_enum_value_is_breaking_for_typed_consumers() -> None:
    new = copy.deepcopy(schema())
    new["properties"]["severity"]["enum"].append("Catastrophic")
    assert compat.breaking_changes(schema(), new) == [
        '$.severity: enum value "Catastrophic" added (consumers with the closed list reject it)'
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s: s["properties"].pop("headline"), "$.headline: property removed"),
        (lambda s: s["required"].append("headline"), "$.headline: new required property"),
        (lambda s: s["properties"]["severity"]["enum"].remove("Minor"), '$.severity: enum value "Minor" removed'),
        (lambda s: s["properties"].__setitem__("alert_id", {"type": "integer"}), "$.alert_id: type narrowed"),
        (
            lambda s: s["properties"].__setitem__("headline", {"type": "string"}),
            "$.headline: type narrowed or changed from ['null', 'string'] to ['string']",
        ),
    ],
)
def test_breaking_changes_are_reported(mutate: Any, expected: str) -> None:
    new = copy.deepcopy(schema())
    mutate(new)
    changes = compat.breaking_changes(schema(), new)
    assert any(c.startswith(expected) for c in changes), changes


def test_nested_models_are_compared_through_refs() -> None:
    old = contracts.json_schema(SurveyCompleted)
    new = copy.deepcopy(old)
    new["$defs"]["QuestionAggregate"]["properties"].pop("mean")
    assert "$.questions[].mean: property removed" in compat.breaking_changes(old, new)


def test_a_renamed_field_in_a_model_is_breaking() -> None:
    class V1(BaseModel):
        count: int = Field(ge=0)

    class V1Renamed(BaseModel):
        total: int = Field(ge=0)

    changes = compat.breaking_changes(V1.model_json_schema(), V1Renamed.model_json_schema())
    assert "$.count: property removed" in changes
    assert "$.total: new required property" in changes


def test_openapi_operation_removed_and_response_field_removed() -> None:
    old = {
        "paths": {
            "/v1/x": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}}
                    }
                }
            },
            "/v1/y": {"post": {"responses": {}}},
        },
        "components": {"schemas": {"X": {"type": "object", "properties": {"a": {"type": "string"}}}}},
    }
    new = copy.deepcopy(old)
    del new["paths"]["/v1/y"]
    new["components"]["schemas"]["X"]["properties"] = {}
    changes = compat.openapi_breaking_changes(old, new)
    assert "/v1/y: path removed" in changes
    assert "GET /v1/x 200 response $.a: property removed" in changes


def test_an_error_documented_as_problem_json_is_a_correction_not_a_removal() -> None:
    def spec(responses: dict[str, object]) -> dict[str, object]:
        return {"paths": {"/v1/things": {"get": {"responses": responses}}}}

    json_body = {"content": {"application/json": {"schema": {"type": "object"}}}}
    problem = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
    old = spec({"200": json_body, "422": json_body})
    assert compat.openapi_breaking_changes(old, spec({"200": json_body, "422": problem})) == []
    assert compat.openapi_breaking_changes(old, spec({"200": problem, "422": problem})) == [
        "GET /v1/things 200: JSON response removed"
    ]
