"""The ``/asyncapi`` page rendered on the server from the service's AsyncAPI 3.0 document.

FastStream's page loads its viewer from a public CDN, which many municipal networks cannot reach: this page
is plain HTML and a little CSS, with nothing fetched from elsewhere. It shows what an integrator needs: each
channel (topic) with its operations, and each message's payload schema as a table of fields (``$ref`` resolved,
nested objects indented). The machine-readable document stays at ``/asyncapi.json``.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f23}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.2rem}
code,.mono{font-family:ui-monospace,monospace;font-size:.92em}
.chip{display:inline-block;border-radius:.3rem;padding:0 .4rem;margin-right:.4rem;font-size:.8em;color:#fff}
.send{background:#2e7d32}.receive{background:#1565c0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #e1e4e8;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f6f8fa}.muted{color:#586069}
"""


def _resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/components/...``) until a node that is not a reference."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        ref = node["$ref"]
        if ref in seen:
            break
        seen.add(ref)
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node = target
    return node


def _type_of(document: dict[str, Any], schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(str(schema['const']))}</code>"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            parts = [_type_of(document, _resolve(document, s)) for s in schema[key]]
            return (" or " if key != "allOf" else " and ").join(p for p in parts if p)
    kind = schema.get("type", "")
    if kind == "array":
        return "array of " + _type_of(document, _resolve(document, schema.get("items", {})))
    fmt = f" ({schema['format']})" if schema.get("format") else ""
    title = schema.get("title") if kind == "object" or not kind else None
    return escape(str(kind or title or "any")) + escape(fmt)


def _rows(document: dict[str, Any], schema: dict[str, Any], prefix: str, depth: int, out: list[str]) -> None:
    schema = _resolve(document, schema)
    required = set(schema.get("required", []))
    for name, prop in (schema.get("properties") or {}).items():
        prop = _resolve(document, prop)
        described = escape(str(prop.get("description", "")))
        out.append(
            f"<tr><td class='mono'>{escape(prefix + name)}</td><td>{_type_of(document, prop)}</td>"
            f"<td>{'yes' if name in required else ''}</td><td>{described}</td></tr>"
        )
        if depth < 4:
            inner = prop
            if prop.get("type") == "array":
                inner = _resolve(document, prop.get("items", {}))
            for key in ("anyOf", "oneOf"):
                options = [_resolve(document, s) for s in prop.get(key, [])]
                objects = [o for o in options if o.get("properties")]
                if len(objects) == 1:
                    inner = objects[0]
            if inner.get("properties"):
                _rows(document, inner, prefix + name + ".", depth + 1, out)


def _schema_table(document: dict[str, Any], schema: Any) -> str:
    rows: list[str] = []
    _rows(document, schema or {}, "", 0, rows)
    if not rows:
        return "<p class='muted'>No declared fields.</p>"
    head = "<tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def render(document: dict[str, Any], *, json_url: str = "/asyncapi.json") -> str:
    """The whole page for one AsyncAPI 3.0 document (as produced by FastStream's ``to_jsonable``)."""
    info = document.get("info", {})
    title = escape(str(info.get("title", "AsyncAPI")))
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title} — events</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1><p class='muted'>AsyncAPI {escape(str(document.get('asyncapi', '')))}, version "
        f"{escape(str(info.get('version', '')))} · <a href='{escape(json_url)}'>machine-readable document</a></p>",
    ]
    if info.get("description"):
        parts.append(f"<p>{escape(str(info['description']))}</p>")
    actions: dict[str, set[str]] = {}
    for operation in (document.get("operations") or {}).values():
        channel_ref = (operation.get("channel") or {}).get("$ref", "")
        actions.setdefault(channel_ref.rsplit("/", 1)[-1].replace("~1", "/"), set()).add(operation.get("action", ""))
    for channel_id, channel in sorted((document.get("channels") or {}).items(), key=lambda kv: kv[0]):
        address = escape(str(channel.get("address", channel_id)))
        chips = "".join(
            f"<span class='chip {escape(a)}'>{'publishes' if a == 'send' else 'consumes'}</span>"
            for a in sorted(actions.get(channel_id, set()))
            if a
        )
        parts.append(f"<h2 id='{escape(channel_id)}'>{chips}<code>{address}</code></h2>")
        if channel.get("description"):
            parts.append(f"<p>{escape(str(channel['description']))}</p>")
        for message_ref in (channel.get("messages") or {}).values():
            message = _resolve(document, message_ref)
            name = message.get("title") or message.get("name") or ""
            parts.append(f"<h3>{escape(str(name))}</h3>")
            if message.get("description") or message.get("summary"):
                parts.append(f"<p>{escape(str(message.get('description') or message.get('summary')))}</p>")
            if message.get("headers"):
                parts.append("<h4>Headers</h4>" + _schema_table(document, message["headers"]))
            parts.append("<h4>Payload</h4>" + _schema_table(document, message.get("payload")))
    parts.append("</body></html>")
    return "".join(parts)
