"""OASIS CAP 1.2: parse a document (XML or JSON) and check it the way public CAP validators do.

One schema table drives both formats, so an XML feed and a JSON feed are held to the same rules and their
errors carry the same paths (``alert.info[0].severity``). Checks: required elements, enumerations,
date-time format (CAP forbids the ``Z`` designator), identifier/sender characters, ``references`` triples
(required for Update, Cancel and Ack), ``restriction``/``addresses`` for Restricted/Private scope,
``expires`` after ``sent`` (and after ``effective``/``onset``), polygon and circle syntax, unknown or
repeated elements.

The JSON form mirrors the XML element names: ``{"alert": {"identifier": ..., "msgType": ..., "info":
[{"category": ["Fire"], "parameter": [{"valueName": "deviceId", "value": "..."}], "area": [...]}]}}``; the
``alert`` wrapper may be left out, and a repeatable element may be given as one value instead of a list.

XML is parsed with defusedxml: a DTD (and so any entity, internal or external) is refused, and nothing
is ever fetched from the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DEVICE_PARAMETER = "deviceId"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")
_FORBIDDEN_ID_CHARS = re.compile(r"[\s,<&]")
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class CapError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class CapInvalid(Exception):
    """The document is not valid CAP 1.2. ``malformed`` means it could not even be parsed."""

    def __init__(self, errors: list[CapError], *, malformed: bool = False) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors[:5]))
        self.errors = errors
        self.malformed = malformed


@dataclass(frozen=True, slots=True)
class Reference:
    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True, slots=True)
class Area:
    area_desc: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Info:
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "en-US"
    headline: str | None = None
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()

    def parameter(self, name: str) -> str | None:
        for key, value in self.parameters:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[Reference, ...] = ()
    note: str | None = None
    incidents: str | None = None
    info: tuple[Info, ...] = ()
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def drill(self) -> bool:
        return self.status in ("Test", "Exercise")

    @property
    def actionable(self) -> bool:
        """Actual alerts and drills enter the lifecycle; System and Draft are only recorded."""
        return self.status in ("Actual", "Test", "Exercise")

    @property
    def device_id(self) -> str | None:
        for info in self.info:
            value = info.parameter(DEVICE_PARAMETER)
            if value:
                return value
        return None

    @property
    def area_desc(self) -> str | None:
        for info in self.info:
            for area in info.areas:
                return area.area_desc
        return None


# ---- the schema table ------------------------------------------------------------------------------------
Check = Callable[[str, str, list[CapError]], Any]


@dataclass(frozen=True, slots=True)
class Elem:
    name: str
    required: bool
    repeat: bool
    check: Check | tuple[Elem, ...]


def _text(path: str, value: str, errors: list[CapError]) -> str | None:
    if not value.strip():
        errors.append(CapError(path, "must not be empty"))
        return None
    return value.strip()


def _identifier(path: str, value: str, errors: list[CapError]) -> str | None:
    text = _text(path, value, errors)
    if text is not None and _FORBIDDEN_ID_CHARS.search(text):
        errors.append(CapError(path, "must not contain spaces, commas, '<' or '&'"))
        return None
    return text


def _datetime(path: str, value: str, errors: list[CapError]) -> datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        errors.append(CapError(path, f"{text!r}: CAP 1.2 forbids the 'Z' designator; write the offset, e.g. +00:00"))
        return None
    if not _DATETIME.match(text):
        errors.append(CapError(path, f"{text!r} is not a CAP date-time (YYYY-MM-DDThh:mm:ss+hh:mm)"))
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        errors.append(CapError(path, f"{text!r} is not a real date and time"))
        return None


def _enum(allowed: tuple[str, ...]) -> Check:
    def check(path: str, value: str, errors: list[CapError]) -> str | None:
        text = value.strip()
        if text not in allowed:
            errors.append(CapError(path, f"{text!r} is not one of {', '.join(allowed)}"))
            return None
        return text

    return check


def _integer(path: str, value: str, errors: list[CapError]) -> int | None:
    text = value.strip()
    if not re.fullmatch(r"\d{1,18}", text):
        errors.append(CapError(path, f"{text!r} is not a non-negative integer"))
        return None
    return int(text)


def _decimal(path: str, value: str, errors: list[CapError]) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        errors.append(CapError(path, f"{value.strip()!r} is not a decimal number"))
        return None
    return number


def _language(path: str, value: str, errors: list[CapError]) -> str | None:
    text = value.strip()
    if not _LANGUAGE.match(text):
        errors.append(CapError(path, f"{text!r} is not an RFC 3066 language tag"))
        return None
    return text


def _point(text: str) -> tuple[float, float] | None:
    lat_s, sep, lon_s = text.partition(",")
    if not sep:
        return None
    try:
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _polygon(path: str, value: str, errors: list[CapError]) -> str | None:
    pairs = value.split()
    points = [_point(p) for p in pairs]
    if any(p is None for p in points):
        errors.append(CapError(path, "each point must be 'latitude,longitude' in WGS 84 ranges"))
        return None
    if len(points) < 4:
        errors.append(CapError(path, "a polygon needs at least 4 points"))
        return None
    if points[0] != points[-1]:
        errors.append(CapError(path, "a polygon must be closed (last point equal to the first)"))
        return None
    return " ".join(pairs)


def _circle(path: str, value: str, errors: list[CapError]) -> str | None:
    centre, _, radius = value.strip().partition(" ")
    try:
        radius_km = float(radius.strip())
    except ValueError:
        radius_km = -1.0
    if _point(centre) is None or radius_km < 0 or radius_km != radius_km:
        errors.append(CapError(path, "a circle is 'latitude,longitude radius_km'"))
        return None
    return value.strip()


VALUE_PAIR = (Elem("valueName", True, False, _text), Elem("value", True, False, _text))
RESOURCE = (
    Elem("resourceDesc", True, False, _text),
    Elem("mimeType", True, False, _text),
    Elem("size", False, False, _integer),
    Elem("uri", False, False, _text),
    Elem("derefUri", False, False, _text),
    Elem("digest", False, False, _text),
)
AREA = (
    Elem("areaDesc", True, False, _text),
    Elem("polygon", False, True, _polygon),
    Elem("circle", False, True, _circle),
    Elem("geocode", False, True, VALUE_PAIR),
    Elem("altitude", False, False, _decimal),
    Elem("ceiling", False, False, _decimal),
)
INFO = (
    Elem("language", False, False, _language),
    Elem("category", True, True, _enum(CATEGORIES)),
    Elem("event", True, False, _text),
    Elem("responseType", False, True, _enum(RESPONSE_TYPES)),
    Elem("urgency", True, False, _enum(URGENCIES)),
    Elem("severity", True, False, _enum(SEVERITIES)),
    Elem("certainty", True, False, _enum(CERTAINTIES)),
    Elem("audience", False, False, _text),
    Elem("eventCode", False, True, VALUE_PAIR),
    Elem("effective", False, False, _datetime),
    Elem("onset", False, False, _datetime),
    Elem("expires", False, False, _datetime),
    Elem("senderName", False, False, _text),
    Elem("headline", False, False, _text),
    Elem("description", False, False, _text),
    Elem("instruction", False, False, _text),
    Elem("web", False, False, _text),
    Elem("contact", False, False, _text),
    Elem("parameter", False, True, VALUE_PAIR),
    Elem("resource", False, True, RESOURCE),
    Elem("area", False, True, AREA),
)
ALERT = (
    Elem("identifier", True, False, _identifier),
    Elem("sender", True, False, _identifier),
    Elem("sent", True, False, _datetime),
    Elem("status", True, False, _enum(STATUSES)),
    Elem("msgType", True, False, _enum(MSG_TYPES)),
    Elem("source", False, False, _text),
    Elem("scope", True, False, _enum(SCOPES)),
    Elem("restriction", False, False, _text),
    Elem("addresses", False, False, _text),
    Elem("code", False, True, _text),
    Elem("note", False, False, _text),
    Elem("references", False, False, _text),
    Elem("incidents", False, False, _text),
    Elem("info", False, True, INFO),
)

# A normalised tree: element name -> list of occurrences; an occurrence is text or a nested tree.
Tree = dict[str, list[Any]]


def _walk(spec: tuple[Elem, ...], tree: Tree, path: str, errors: list[CapError]) -> dict[str, Any]:
    """Check `tree` against `spec`; returns name -> checked value (a list for repeatable elements)."""
    known = {e.name for e in spec}
    for name in tree:
        if name not in known:
            errors.append(CapError(f"{path}.{name}", "is not an element of CAP 1.2 here"))
    out: dict[str, Any] = {}
    for elem in spec:
        occurrences = tree.get(elem.name, [])
        if not occurrences:
            if elem.required:
                errors.append(CapError(f"{path}.{elem.name}", "is required"))
            continue
        if not elem.repeat and len(occurrences) > 1:
            errors.append(CapError(f"{path}.{elem.name}", f"may occur once, found {len(occurrences)}"))
            occurrences = occurrences[:1]
        values = []
        for i, occurrence in enumerate(occurrences):
            where = f"{path}.{elem.name}[{i}]" if elem.repeat else f"{path}.{elem.name}"
            if isinstance(elem.check, tuple):
                if isinstance(occurrence, str) and not occurrence.strip():
                    occurrence = {}  # <info/>: a structure whose required children are then reported missing
                if not isinstance(occurrence, dict):
                    errors.append(CapError(where, "must be a structure, not text"))
                    continue
                values.append(_walk(elem.check, occurrence, where, errors))
            else:
                if isinstance(occurrence, dict):
                    errors.append(CapError(where, "must be text, not a structure"))
                    continue
                if isinstance(occurrence, bool) or not isinstance(occurrence, (str, int, float)):
                    errors.append(CapError(where, "must be text"))
                    continue
                checked = elem.check(where, str(occurrence), errors)
                if checked is not None:
                    values.append(checked)
        out[elem.name] = values if elem.repeat else (values[0] if values else None)
    return out


def _rules(doc: dict[str, Any], errors: list[CapError]) -> tuple[Reference, ...]:
    """The rules that tie elements together."""
    refs: list[Reference] = []
    msg_type, scope, sent = doc.get("msgType"), doc.get("scope"), doc.get("sent")
    raw_refs = doc.get("references")
    if raw_refs:
        for i, triple in enumerate(raw_refs.split()):
            parts = triple.split(",")
            where = f"alert.references[{i}]"
            if len(parts) != 3 or not parts[0] or not parts[1]:
                errors.append(CapError(where, f"{triple!r} is not 'sender,identifier,sent'"))
                continue
            ref_sent = _datetime(where, parts[2], errors)
            if ref_sent is not None:
                refs.append(Reference(parts[0], parts[1], ref_sent))
    if msg_type in ("Update", "Cancel", "Ack") and not raw_refs:
        errors.append(CapError("alert.references", f"is required for msgType {msg_type}: name the original alert"))
    if scope == "Restricted" and not doc.get("restriction"):
        errors.append(CapError("alert.restriction", "is required when scope is Restricted"))
    if scope == "Private" and not doc.get("addresses"):
        errors.append(CapError("alert.addresses", "is required when scope is Private"))
    for i, info in enumerate(doc.get("info") or []):
        expires = info.get("expires")
        if expires is None:
            continue
        if sent is not None and expires <= sent:
            errors.append(CapError(f"alert.info[{i}].expires", "must be after alert.sent"))
        for other in ("effective", "onset"):
            start = info.get(other)
            if start is not None and expires <= start:
                errors.append(CapError(f"alert.info[{i}].expires", f"must be after info.{other}"))
        for j, area in enumerate(info.get("area") or []):
            if area.get("ceiling") is not None and area.get("altitude") is None:
                errors.append(CapError(f"alert.info[{i}].area[{j}].ceiling", "may be given only with altitude"))
    return tuple(refs)


# ---- the two surface formats -----------------------------------------------------------------------------
def _local(tag: str, path: str, errors: list[CapError]) -> str | None:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        if ns != CAP_NS:
            errors.append(CapError(f"{path}.{name}", f"element in namespace {ns!r}; expected {CAP_NS!r}"))
            return None
        return name
    errors.append(CapError(f"{path}.{tag}", f"element without the CAP 1.2 namespace {CAP_NS!r}"))
    return None


def _xml_tree(element: Element, path: str, errors: list[CapError], depth: int = 0) -> Tree | str:
    children = list(element)
    if not children:
        return element.text or ""
    if depth > _MAX_DEPTH:
        errors.append(CapError(path, "nesting too deep for CAP"))
        return {}
    if (element.text or "").strip():
        errors.append(CapError(path, "mixes text and elements"))
    tree: Tree = {}
    for child in children:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        name = _local(child.tag, path, errors)
        if name is None:
            continue
        tree.setdefault(name, []).append(_xml_tree(child, f"{path}.{name}", errors, depth + 1))
    return tree


def _from_xml(body: bytes) -> Tree:
    try:
        root = safe_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CapInvalid(
            [CapError("alert", f"refused: {type(exc).__name__} (DTDs and entities are not allowed)")], malformed=True
        ) from exc
    except (ParseError, ValueError, UnicodeError) as exc:
        raise CapInvalid([CapError("alert", f"XML is not well-formed: {exc}")], malformed=True) from exc
    errors: list[CapError] = []
    if root.tag != f"{{{CAP_NS}}}alert":
        raise CapInvalid([CapError("alert", f"root element is {root.tag!r}; expected {{{CAP_NS}}}alert")])
    tree = _xml_tree(root, "alert", errors)
    if errors:
        raise CapInvalid(errors)
    return tree if isinstance(tree, dict) else {}


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


def _from_json(body: bytes) -> Tree:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise CapInvalid([CapError("alert", f"JSON is not well-formed: {str(exc)[:200]}")], malformed=True) from exc
    if isinstance(value, dict) and set(value) == {"alert"}:
        value = value["alert"]
    if not isinstance(value, dict):
        raise CapInvalid([CapError("alert", "must be a JSON object")])
    errors: list[CapError] = []
    tree = _json_tree(value, "alert", errors)
    if errors:
        raise CapInvalid(errors)
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


def parse(body: bytes, content_type: str | None = None) -> CapAlert:
    """A valid CAP 1.2 alert, or CapInvalid listing every problem with its path."""
    fmt = detect_format(body, content_type)
    if fmt == "unknown":
        raise CapInvalid([CapError("alert", "the body is neither CAP XML nor CAP JSON")], malformed=True)
    tree = _from_xml(body) if fmt == "xml" else _from_json(body)
    errors: list[CapError] = []
    doc = _walk(ALERT, tree, "alert", errors)
    refs = _rules(doc, errors)
    if errors:
        raise CapInvalid(errors)
    return _build(doc, refs)


def validate(body: bytes, content_type: str | None = None) -> list[CapError]:
    """Every reason the document is not valid CAP 1.2 (empty when it is)."""
    try:
        parse(body, content_type)
    except CapInvalid as exc:
        return exc.errors
    return []


def _pairs(items: list[Mapping[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((p["valueName"], p["value"]) for p in items or () if p.get("valueName") and p.get("value"))


def _build(doc: dict[str, Any], refs: tuple[Reference, ...]) -> CapAlert:
    infos = []
    for info in doc.get("info") or []:
        areas = tuple(
            Area(
                area_desc=a["areaDesc"],
                polygons=tuple(a.get("polygon") or ()),
                circles=tuple(a.get("circle") or ()),
                geocodes=_pairs(a.get("geocode")),
            )
            for a in info.get("area") or []
        )
        infos.append(
            Info(
                categories=tuple(info["category"]),
                event=info["event"],
                urgency=info["urgency"],
                severity=info["severity"],
                certainty=info["certainty"],
                language=info.get("language") or "en-US",
                headline=info.get("headline"),
                effective=info.get("effective"),
                onset=info.get("onset"),
                expires=info.get("expires"),
                parameters=_pairs(info.get("parameter")),
                areas=areas,
            )
        )
    return CapAlert(
        identifier=doc["identifier"],
        sender=doc["sender"],
        sent=doc["sent"],
        status=doc["status"],
        msg_type=doc["msgType"],
        scope=doc["scope"],
        references=refs,
        note=doc.get("note"),
        incidents=doc.get("incidents"),
        info=tuple(infos),
        document=_jsonable(doc),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
