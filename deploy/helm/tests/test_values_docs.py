"""values.yaml, values.schema.json and the chart README agree: every value documented, no stale rows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

CHART = Path(__file__).resolve().parents[1] / "lsg"
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
VALUES = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
PRODUCTION = yaml.safe_load((CHART.parent / "values-production.yaml").read_text(encoding="utf-8"))
# Maps whose keys are free-form (labels, selectors, Kubernetes objects): documented as a whole.
FREE_FORM = {
    "matchLabels", "annotations", "labels", "resources", "podSecurityContext", "resourceAttributes",
    "podAnnotations", "podLabels", "nodeSelector", "affinity", "namespaceSelector", "podSelector",
}  # fmt: skip


def leaf_paths(d: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in d.items():
        path = f"{prefix}.{key}" if prefix else key
        free = key in FREE_FORM or (key == "securityContext" and prefix == "default")
        if isinstance(value, dict) and value and not free:
            out += leaf_paths(value, path)
        else:
            out.append(path)
    return out


def normalise(path: str) -> str:
    return re.sub(r"^components\.[a-z][a-z0-9-]*\.", "components.<name>.", path)


def documented_keys() -> list[str]:
    text = (CHART / "README.md").read_text(encoding="utf-8")
    section = text.split("## Values", 1)[1]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def resolve(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    node: dict[str, Any] = schema
    for part in path.split("."):
        while "$ref" in node or "allOf" in node:
            ref = node["$ref"] if "$ref" in node else node["allOf"][0]["$ref"]
            node = SCHEMA["definitions"][ref.rsplit("/", 1)[1]]
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif part == "<name>" and isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


def test_every_value_is_documented() -> None:
    docs = set(documented_keys())
    missing = []
    for path in map(normalise, leaf_paths(VALUES)):
        prefixes = {".".join(path.split(".")[:n]) for n in range(2, path.count(".") + 2)} | {path}
        if not docs & prefixes:
            missing.append(path)
    assert not missing, f"values without a README row: {missing}"


def test_every_documented_key_exists_in_the_schema() -> None:
    stale = [k for k in documented_keys() if resolve(SCHEMA, k) is None]
    assert not stale, f"README rows for keys the schema does not know: {stale}"


def test_schema_is_draft_07_and_closed_at_the_top() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["additionalProperties"] is False
    assert set(VALUES) <= set(SCHEMA["properties"])


@pytest.mark.parametrize("values", [VALUES, PRODUCTION], ids=["default", "production"])
def test_values_files_satisfy_the_schema(values: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(values)


@pytest.mark.parametrize(
    "bad",
    [
        {"default": {"replicas": "two"}},
        {"bogus": 1},
        {"kafka": {"bootstrap": "k:9092", "securityProtocol": "TLS"}},
        {"components": {"surveys": {"enabled": True}}},  # no port
        {"default": {"secretEnv": [{"name": "X_KEY", "value": "inline"}]}},
    ],
)
def test_schema_rejects(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(bad)
