"""The two surface formats a partner may send: CAP XML (defused) and its JSON rendering, as element trees."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from lsg_alerts.domain.cap.model import (
    _MAX_DEPTH,
    CAP_NS,
    DSIG_NS,
    VERSIONS,
    CapError,
    CapInvalid,
)
from lsg_alerts.domain.cap.schema import (
    ORDER,
    SIGNATURE,
    Tree,
)


# ---- the two surface formats -----------------------------------------------------------------------------
@dataclass(slots=True)
class _Xml:
    namespace: str  # the root's namespace (children must share it)
    signed: bool = False


def _xml_tree(element: Element, path: str, ctx: _Xml, errors: list[CapError], depth: int = 0) -> Tree | str:
    children = [c for c in element if isinstance(c.tag, str)]  # comments and processing instructions go
    if not children:
        return element.text or ""
    if depth > _MAX_DEPTH:
        errors.append(CapError(path, "nesting too deep for CAP"))
        return {}
    if (element.text or "").strip():
        errors.append(CapError(path, "mixes text and elements"))
    tree: Tree = {ORDER: []}
    for child in children:
        tag = str(child.tag)
        ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if ns == DSIG_NS and depth == 0 and name == "Signature":
            ctx.signed = True
            tree.setdefault(SIGNATURE, []).append("")
            tree[ORDER].append(SIGNATURE)
            continue
        if ns != ctx.namespace:
            where = f"{path}.{name}"
            errors.append(CapError(where, f"element in namespace {ns!r}; the alert's is {ctx.namespace!r}"))
            continue
        tree.setdefault(name, []).append(_xml_tree(child, f"{path}.{name}", ctx, errors, depth + 1))
        tree[ORDER].append(name)
    return tree


def _from_xml(body: bytes, errors: list[CapError]) -> tuple[Tree, str, bool]:
    """The tree, the version it claims (1.2 when its namespace is unknown: an error says so) and whether a
    ds:Signature closes it."""
    try:
        root = safe_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CapInvalid(
            [CapError("alert", f"refused: {type(exc).__name__} (DTDs and entities are not allowed)")], malformed=True
        ) from exc
    except (ParseError, ValueError, UnicodeError) as exc:
        raise CapInvalid([CapError("alert", f"XML is not well-formed: {exc}")], malformed=True) from exc
    tag = str(root.tag)
    ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    version = VERSIONS.get(ns)
    if name != "alert":
        errors.append(CapError("alert", f"root element is {tag[:200]!r}; expected alert in {CAP_NS!r}"))
    elif version is None:
        known = ", ".join(f"{v} {n!r}" for n, v in VERSIONS.items())
        errors.append(CapError("alert", f"namespace {ns[:200]!r} is not a CAP namespace ({known}); checked as CAP 1.2"))
    ctx = _Xml(ns)
    tree = _xml_tree(root, "alert", ctx, errors)
    if ctx.signed and version not in ("1.2", None):
        errors.append(CapError("alert.Signature", f"CAP {version} has no place for an XML signature; CAP 1.2 has"))
    return (tree if isinstance(tree, dict) else {}), version or "1.2", ctx.signed


def _json_tree(value: Any, path: str, errors: list[CapError], depth: int = 0) -> Tree | Any:
    if not isinstance(value, dict):
        return value
    if depth > _MAX_DEPTH:
        errors.append(CapError(path, "nesting too deep for CAP"))
        return {}
    tree: Tree = {}
    for name, item in value.items():
        items = item if isinstance(item, list) else [item]
        tree[name] = [_json_tree(v, f"{path}.{name}", errors, depth + 1) for v in items if v is not None]
    return tree


def _from_json(body: bytes, errors: list[CapError]) -> Tree:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise CapInvalid([CapError("alert", f"JSON is not well-formed: {str(exc)[:200]}")], malformed=True) from exc
    if isinstance(value, dict) and set(value) == {"alert"}:
        value = value["alert"]
    if not isinstance(value, dict):
        raise CapInvalid([CapError("alert", "must be a JSON object")])
    tree = _json_tree(value, "alert", errors)
    return tree if isinstance(tree, dict) else {}


def detect_format(body: bytes, content_type: str | None) -> str:
    """'xml' or 'json' from the media type, or by the first character when the type says neither."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media.endswith("xml"):
        return "xml"
    if media.endswith("json"):
        return "json"
    head = body.lstrip()[:1]
    if head == b"<":
        return "xml"
    if head in (b"{", b"["):
        return "json"
    return "unknown"


def detect_version(body: bytes, content_type: str | None = None) -> str | None:
    """The CAP version a document claims by its namespace (JSON is CAP 1.2), without validating it."""
    if detect_format(body, content_type) == "json":
        return "1.2"
    for ns, version in VERSIONS.items():
        if ns.encode() in body[:4096]:
            return version
    return None
