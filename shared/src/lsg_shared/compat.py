"""Backward-compatibility gate for published contracts (event JSON Schemas and OpenAPI documents).

Within a version (``.v1`` event types, ``/v1`` APIs) a change may only add. ``breaking_changes(old, new)``
lists what would break an existing consumer of a document validated by `old`:

* a property removed (or renamed, which is a removal plus an addition);
* a type narrowed or changed (``integer`` -> ``string``; ``["string", "null"]`` -> ``"string"``);
* a new required property;
* an enum value removed or added (typed consumers validate the closed list strictly);
* a constraint tightened (``maxLength``/``maximum`` lowered, ``minLength``/``minimum`` raised).

Additions of new optional properties and looser bounds are not reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Schema = dict[str, Any]


def _resolve(schema: Any, root: Schema) -> Any:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return schema
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _types(schema: Any, root: Schema) -> set[str] | None:
    """The JSON types a schema accepts (None = anything), following anyOf/oneOf and $ref."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            out: set[str] = set()
            for option in schema[key]:
                sub = _types(option, root)
                if sub is None:
                    return None
                out |= sub
            return out
    if "type" in schema:
        t = schema["type"]
        types = set(t) if isinstance(t, list) else {t}
        if "integer" in types:
            types.add("integer")
        return types
    if "const" in schema:
        return {type(schema["const"]).__name__}
    if "enum" in schema:
        return {"enum"}
    return None


def _enum(schema: Any, root: Schema) -> set[Any] | None:
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return None
    if "enum" in schema:
        return {json.dumps(v, sort_keys=True) for v in schema["enum"]}
    if "const" in schema:
        return {json.dumps(schema["const"], sort_keys=True)}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            values: set[Any] = set()
            found = False
            for option in schema[key]:
                sub = _enum(option, root)
                if sub is not None:
                    values |= sub
                    found = True
            return values if found else None
    return None


def _props(schema: Any, root: Schema) -> tuple[dict[str, Any], set[str]] | None:
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            objects = [p for p in (_props(o, root) for o in schema[key]) if p is not None]
            if len(objects) == 1:
                return objects[0]
    if "properties" in schema:
        return schema["properties"], set(schema.get("required", []))
    return None


def _items(schema: Any, root: Schema) -> Any:
    schema = _resolve(schema, root)
    if isinstance(schema, dict):
        if "items" in schema:
            return schema["items"]
        for key in ("anyOf", "oneOf"):
            for option in schema.get(key, []):
                found = _items(option, root)
                if found is not None:
                    return found
    return None


_TIGHTER = {
    "maxLength": "lowered",
    "maximum": "lowered",
    "maxItems": "lowered",
    "minLength": "raised",
    "minimum": "raised",
    "minItems": "raised",
}


def _compare(old: Any, new: Any, old_root: Schema, new_root: Schema, path: str, depth: int = 0) -> Iterator[str]:
    if depth > 30:
        return
    old_r, new_r = _resolve(old, old_root), _resolve(new, new_root)
    old_t, new_t = _types(old_r, old_root), _types(new_r, new_root)
    if old_t is not None and new_t is not None and not old_t <= new_t and old_t != {"enum"}:
        yield f"{path}: type narrowed or changed from {sorted(old_t)} to {sorted(new_t)}"
    old_e, new_e = _enum(old_r, old_root), _enum(new_r, new_root)
    if old_e is not None and new_e is not None:
        for value in sorted(old_e - new_e):
            yield f"{path}: enum value {value} removed"
        for value in sorted(new_e - old_e):
            # The suite's own models (and most typed consumers) validate enums strictly: a value they do not
            # know makes the whole event invalid for them, so a new value needs a new version too.
            yield f"{path}: enum value {value} added (consumers with the closed list reject it)"
    if isinstance(old_r, dict) and isinstance(new_r, dict):
        for key, direction in _TIGHTER.items():
            if key in old_r and key in new_r:
                tighter = new_r[key] < old_r[key] if direction == "lowered" else new_r[key] > old_r[key]
                if tighter:
                    yield f"{path}: {key} {direction} from {old_r[key]} to {new_r[key]}"
            elif key in new_r and key not in old_r:
                yield f"{path}: new constraint {key}={new_r[key]}"
    old_p, new_p = _props(old_r, old_root), _props(new_r, new_root)
    if old_p is not None and new_p is not None:
        (old_props, old_req), (new_props, new_req) = old_p, new_p
        for name in sorted(set(old_props) - set(new_props)):
            yield f"{path}.{name}: property removed"
        for name in sorted(new_req - old_req):
            yield f"{path}.{name}: new required property"
        for name in sorted(set(old_props) & set(new_props)):
            yield from _compare(old_props[name], new_props[name], old_root, new_root, f"{path}.{name}", depth + 1)
    old_i, new_i = _items(old_r, old_root), _items(new_r, new_root)
    if old_i is not None and new_i is not None:
        yield from _compare(old_i, new_i, old_root, new_root, f"{path}[]", depth + 1)


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every change from `old` to `new` that would break an existing consumer (empty = compatible)."""
    return list(_compare(old, new, old, new, "$"))


def openapi_breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Breaking changes between two OpenAPI documents: operations removed, response schemas narrowed,
    new required request fields or parameters."""
    out: list[str] = []
    for path, ops in old.get("paths", {}).items():
        new_ops = new.get("paths", {}).get(path)
        if new_ops is None:
            out.append(f"{path}: path removed")
            continue
        for method, op in ops.items():
            if method not in new_ops:
                out.append(f"{method.upper()} {path}: operation removed")
                continue
            new_op = new_ops[method]
            old_required = {p["name"] for p in op.get("parameters", []) if p.get("required")}
            new_required = {p["name"] for p in new_op.get("parameters", []) if p.get("required")}
            out += [f"{method.upper()} {path}: new required parameter {n}" for n in sorted(new_required - old_required)]
            for status, response in op.get("responses", {}).items():
                old_schema = response.get("content", {}).get("application/json", {}).get("schema")
                new_resp = new_op.get("responses", {}).get(status)
                if old_schema is None or new_resp is None:
                    continue
                new_content = new_resp.get("content", {})
                new_schema = new_content.get("application/json", {}).get("schema")
                if new_schema is None:
                    # Not removals: an error documented as FastAPI's JSON that the service has always answered as
                    # application/problem+json (the document corrected), and a body the old document did not
                    # describe at all (`{}`: a route returning a plain Response, now with its real media type).
                    corrected = status.startswith(("4", "5")) and "application/problem+json" in new_content
                    if not (corrected or old_schema == {}):
                        out.append(f"{method.upper()} {path} {status}: JSON response removed")
                    continue
                out += [
                    f"{method.upper()} {path} {status} response {c}"
                    for c in _compare(old_schema, new_schema, old, new, "$")
                    if "new required property" not in c
                ]
            old_body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            new_body = new_op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if old_body is not None and new_body is not None:
                out += [
                    f"{method.upper()} {path} request {c}"
                    for c in _compare(old_body, new_body, old, new, "$")
                    if "new required property" in c
                ]
    return out


def load(path: Path) -> Schema:
    data: Schema = json.loads(path.read_text("utf-8"))
    return data
