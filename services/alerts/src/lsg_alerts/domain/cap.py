"""OASIS CAP: parse a document (XML or JSON) of CAP 1.2, 1.1 or 1.0, check it against its own version's schema
and the specification's prose rules, and normalise it to CAP 1.2.

One schema table per version drives both formats, so an XML feed and a JSON feed are held to the same rules and
their faults carry the same paths (``alert.info[0].severity``, an XPath-like path: element names from the root,
``[i]`` for the i-th occurrence of a repeatable element). Every fault is reported, all at once, whatever the
version, and a document in an unknown namespace is still checked (against CAP 1.2) so its real faults show.

What is checked (CAP 1.2 XSD and specification; the 1.1 and 1.0 schemas for older documents):

* required elements, occurrence (once / repeatable), element order (the XSD's ``sequence``; XML only), unknown
  elements, enumerations, ``xs:integer`` / ``xs:decimal`` / ``xs:language``, the date-time form: CAP 1.2 allows
  only ``YYYY-MM-DDThh:mm:ss`` with a numeric offset (no ``Z``, no fractions); 1.1 and 1.0 type it as
  ``xs:dateTime`` (a ``Z`` or fraction is normalised to ``+00:00`` / whole seconds; a time without a zone is a
  fault: CAP 1.2 cannot carry it);
* plain ``xs:string`` elements may be empty (``<note/>``, ``<restriction/>``, a parameter's ``<value/>``);
  ``identifier`` and ``sender`` may not (they identify the message, and the spec forbids spaces, commas,
  ``<`` and ``&`` in them);
* prose rules: ``references`` is whitespace-separated ``sender,identifier,sent`` triples; an Update, Cancel or
  Ack names the message(s) it acts on in ``references`` (the spec defines these message types by "the earlier
  message(s) identified in <references>"); ``restriction`` when scope is Restricted; ``addresses`` when scope is
  Private ("required when scope is Private"); ``ceiling`` only with ``altitude``; polygons of at least four
  points, closed; circles ``lat,lon radius``; ``expires`` after ``sent``/``effective``/``onset`` (a suite rule:
  an alert that is over before it starts is a mistake);
* an XML digital signature (``ds:Signature``, namespace xmldsig) is accepted as the alert's last children, as
  the CAP 1.2 schema allows (``CapAlert.signed``); verifying it is the caller's (``xmlsig.py``).

Older versions (``CapAlert.version`` keeps what arrived; ``CapAlert.document`` is CAP 1.2):

* 1.1 -> 1.2: the same elements; a resource without ``mimeType`` gets ``application/octet-stream``.
* 1.0 -> 1.2: ``password`` is dropped (never stored); ``certainty`` "Very Likely" becomes "Likely" (1.1 merged
  them); ``eventCode``, ``parameter`` and ``geocode`` written ``valueName=value`` become pairs; ``scope`` and
  ``category``, optional in 1.0, are required by 1.2 and are never guessed (a fault when missing).

The JSON form mirrors the XML element names of CAP 1.2: ``{"alert": {"identifier": ..., "msgType": ...,
"info": [{"category": ["Fire"], "parameter": [{"valueName": "deviceId", "value": "..."}], "area": [...]}]}}``;
the ``alert`` wrapper may be left out, and a repeatable element may be given as one value instead of a list.

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
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
CAP10_NS = "http://www.incident.com/cap/1.0"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
VERSIONS = {CAP_NS: "1.2", CAP11_NS: "1.1", CAP10_NS: "1.0"}
NAMESPACES = {v: k for k, v in VERSIONS.items()}
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

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")  # the CAP 1.2 XSD pattern
_XS_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
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
    """The document is not valid CAP. ``malformed`` means it could not even be parsed; ``version`` is the CAP
    version the document claimed (None when its namespace is none of CAP's)."""

    def __init__(self, errors: list[CapError], *, malformed: bool = False, version: str | None = None) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors[:5]))
        self.errors = errors
        self.malformed = malformed
        self.version = version


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
    version: str = "1.2"  # the CAP version the document arrived in (``document`` is always CAP 1.2)
    signed: bool = False  # an XML digital signature (ds:Signature) was present

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


# ---- the schema tables -----------------------------------------------------------------------------------
Check = Callable[[str, str, list[CapError]], Any]


@dataclass(frozen=True, slots=True)
class Elem:
    name: str
    required: bool
    repeat: bool
    check: Check | tuple[Elem, ...]


def _string(path: str, value: str, errors: list[CapError]) -> str:
    """``xs:string``: anything, empty included (CAP types most elements so)."""
    return value.strip()


def _identifier(path: str, value: str, errors: list[CapError]) -> str | None:
    text = value.strip()
    if not text:
        errors.append(CapError(path, "must not be empty: it identifies the message"))
        return None
    if _FORBIDDEN_ID_CHARS.search(text):
        errors.append(CapError(path, "must not contain spaces, commas, '<' or '&'"))
        return None
    return text


def _datetime(path: str, value: str, errors: list[CapError]) -> datetime | None:
    """CAP 1.2: the XSD's pattern, a numeric offset and whole seconds."""
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


def _xs_datetime(path: str, value: str, errors: list[CapError]) -> datetime | None:
    """CAP 1.1 and 1.0: ``xs:dateTime``; normalised to whole seconds with an offset (what CAP 1.2 can carry)."""
    text = value.strip()
    if not _XS_DATETIME.match(text):
        errors.append(CapError(path, f"{text!r} is not an xs:dateTime (YYYY-MM-DDThh:mm:ss+hh:mm)"))
        return None
    if not text.endswith(("Z", "z")) and not re.search(r"[+-]\d{2}:\d{2}$", text):
        errors.append(CapError(path, f"{text!r} has no time zone offset: CAP 1.2 cannot carry a local time"))
        return None
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        errors.append(CapError(path, f"{text!r} is not a real date and time"))
        return None
    return moment.replace(microsecond=0)


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
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        errors.append(CapError(path, f"{text!r} is not an integer"))
        return None
    return int(text)


def _decimal(path: str, value: str, errors: list[CapError]) -> float | None:
    text = value.strip()
    if len(text) > 40 or not _DECIMAL.match(text):
        errors.append(CapError(path, f"{text!r} is not a decimal number"))
        return None
    return float(text)


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


def _pair_text(path: str, value: str, errors: list[CapError]) -> dict[str, str] | None:
    """CAP 1.0's ``valueName=value`` text (eventCode, parameter, geocode), as the pair CAP 1.1 made of it."""
    name, sep, val = value.strip().partition("=")
    if not sep or not name.strip():
        errors.append(CapError(path, f"{value.strip()[:80]!r}: CAP 1.0 writes it 'valueName=value'"))
        return None
    return {"valueName": name.strip(), "value": val.strip()}


VALUE_PAIR = (Elem("valueName", True, False, _string), Elem("value", True, False, _string))


def _schema(version: str) -> tuple[Elem, ...]:
    """The element table of one CAP version (its XSD's sequences, in order)."""
    v10, v11 = version == "1.0", version == "1.1"
    when: Check = _xs_datetime if v10 or v11 else _datetime
    pair: Check | tuple[Elem, ...] = _pair_text if v10 else VALUE_PAIR
    response_types = tuple(r for r in RESPONSE_TYPES if r not in ("Avoid", "AllClear")) if v11 else RESPONSE_TYPES
    certainties = ("Very Likely", *CERTAINTIES) if v10 else CERTAINTIES
    statuses = tuple(s for s in STATUSES if s != "Draft") if v10 else STATUSES
    resource = (
        Elem("resourceDesc", True, False, _string),
        Elem("mimeType", not (v10 or v11), False, _string),
        Elem("size", False, False, _integer),
        Elem("uri", False, False, _string),
        *(() if v10 else (Elem("derefUri", False, False, _string),)),
        Elem("digest", False, False, _string),
    )
    area = (
        Elem("areaDesc", True, False, _string),
        Elem("polygon", False, True, _polygon),
        Elem("circle", False, True, _circle),
        Elem("geocode", False, True, pair),
        Elem("altitude", False, False, _decimal),
        Elem("ceiling", False, False, _decimal),
    )
    info = (
        Elem("language", False, False, _language),
        Elem("category", not v10, True, _enum(CATEGORIES if not v10 else tuple(c for c in CATEGORIES if c != "CBRNE"))),
        Elem("event", True, False, _string),
        *(() if v10 else (Elem("responseType", False, True, _enum(response_types)),)),
        Elem("urgency", True, False, _enum(URGENCIES)),
        Elem("severity", True, False, _enum(SEVERITIES)),
        Elem("certainty", True, False, _enum(certainties)),
        Elem("audience", False, False, _string),
        Elem("eventCode", False, True, pair),
        Elem("effective", False, False, when),
        Elem("onset", False, False, when),
        Elem("expires", False, False, when),
        Elem("senderName", False, False, _string),
        Elem("headline", False, False, _string),
        Elem("description", False, False, _string),
        Elem("instruction", False, False, _string),
        Elem("web", False, False, _string),
        Elem("contact", False, False, _string),
        Elem("parameter", False, True, pair),
        Elem("resource", False, True, resource),
        Elem("area", False, True, area),
    )
    return (
        Elem("identifier", True, False, _identifier),
        Elem("sender", True, False, _identifier),
        Elem("sent", True, False, when),
        Elem("status", True, False, _enum(statuses)),
        Elem("msgType", True, False, _enum(MSG_TYPES)),
        *((Elem("password", False, False, _string),) if v10 else ()),
        Elem("source", False, False, _string),
        Elem("scope", not v10, False, _enum(SCOPES)),
        Elem("restriction", False, False, _string),
        Elem("addresses", False, False, _string),
        Elem("code", False, True, _string),
        Elem("note", False, False, _string),
        Elem("references", False, False, _string),
        Elem("incidents", False, False, _string),
        Elem("info", False, True, info),
    )


SCHEMAS = {version: _schema(version) for version in ("1.2", "1.1", "1.0")}
ALERT = SCHEMAS["1.2"]
SIGNATURE = "{%s}Signature" % DSIG_NS  # noqa: UP031 (a namespace-qualified tag, not a format)

# A normalised tree: element name -> list of occurrences; an occurrence is text or a nested tree. An XML tree
# also keeps its children's names in document order under the ORDER key (for the schema's sequence).
Tree = dict[Any, list[Any]]
ORDER: Any = object()


def _check_order(spec: tuple[Elem, ...], names: list[str], path: str, errors: list[CapError]) -> None:
    rank = {e.name: i for i, e in enumerate(spec)}
    rank[SIGNATURE] = len(spec)  # xmldsig elements close the alert (CAP 1.2's xs:any at the end)
    highest, after = -1, ""
    for name in names:
        r = rank.get(name)
        if r is None:
            continue
        if r < highest:
            shown = "Signature" if name == SIGNATURE else name
            errors.append(CapError(f"{path}.{shown}", f"is out of order: CAP puts it before {after}"))
            return
        if r > highest:
            highest, after = r, name if name != SIGNATURE else "Signature"


def _walk(spec: tuple[Elem, ...], tree: Tree, path: str, errors: list[CapError], version: str) -> dict[str, Any]:
    """Check `tree` against `spec`; returns name -> checked value (a list for repeatable elements)."""
    known = {e.name for e in spec}
    order = tree.get(ORDER)
    if order:
        _check_order(spec, order, path, errors)
    for name in tree:
        if name is ORDER or name == SIGNATURE:
            continue
        if name not in known:
            errors.append(CapError(f"{path}.{name}", f"is not an element of CAP {version} here"))
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
                values.append(_walk(elem.check, occurrence, where, errors, version))
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
    """The specification's rules that tie elements together."""
    refs: list[Reference] = []
    msg_type, scope, sent = doc.get("msgType"), doc.get("scope"), doc.get("sent")
    raw_refs = doc.get("references")
    if raw_refs:
        for i, triple in enumerate(raw_refs.split()):
            parts = triple.split(",")
            where = f"alert.references[{i}]"
            if len(parts) != 3 or not parts[0] or not parts[1]:
                errors.append(CapError(where, f"{triple[:120]!r} is not 'sender,identifier,sent'"))
                continue
            ref_sent = _xs_datetime(where, parts[2], []) or _datetime(where, parts[2], errors)
            if ref_sent is not None:
                refs.append(Reference(parts[0], parts[1], ref_sent))
    if msg_type in ("Update", "Cancel", "Ack") and not (raw_refs or "").strip():
        errors.append(CapError("alert.references", f"is required for msgType {msg_type}: name the original alert"))
    if scope == "Restricted" and not (doc.get("restriction") or "").strip():
        errors.append(CapError("alert.restriction", "is required when scope is Restricted"))
    if scope == "Private" and not (doc.get("addresses") or "").strip():
        errors.append(CapError("alert.addresses", "is required when scope is Private"))
    if (doc.get("addresses") or "").count('"') % 2:
        errors.append(CapError("alert.addresses", "has an unclosed double quote (multi-word addresses are quoted)"))
    for i, info in enumerate(doc.get("info") or []):
        for j, area in enumerate(info.get("area") or []):
            if area.get("ceiling") is not None and area.get("altitude") is None:
                errors.append(CapError(f"alert.info[{i}].area[{j}].ceiling", "may be given only with altitude"))
        expires = info.get("expires")
        if expires is None:
            continue
        if sent is not None and expires <= sent:
            errors.append(CapError(f"alert.info[{i}].expires", "must be after alert.sent"))
        for other in ("effective", "onset"):
            start = info.get(other)
            if start is not None and expires <= start:
                errors.append(CapError(f"alert.info[{i}].expires", f"must be after info.{other}"))
    return tuple(refs)


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


def parse(body: bytes, content_type: str | None = None) -> CapAlert:
    """A valid CAP alert (1.2, 1.1 or 1.0) normalised to 1.2, or CapInvalid listing every fault with its path."""
    fmt = detect_format(body, content_type)
    if fmt == "unknown":
        raise CapInvalid([CapError("alert", "the body is neither CAP XML nor CAP JSON")], malformed=True)
    errors: list[CapError] = []
    if fmt == "xml":
        tree, version, signed = _from_xml(body, errors)
    else:
        tree, version, signed = _from_json(body, errors), "1.2", False
    claimed = version if not errors or errors[0].path != "alert" else None
    doc = _walk(SCHEMAS[version], tree, "alert", errors, version)
    refs = _rules(doc, errors)
    if version == "1.0":
        _needed_by_12(doc, errors)
    if errors:
        raise CapInvalid(errors, version=claimed)
    return _build(_to_12(doc, version), refs, version, signed)


def validate(body: bytes, content_type: str | None = None) -> list[CapError]:
    """Every reason the document is not valid CAP (empty when it is)."""
    try:
        parse(body, content_type)
    except CapInvalid as exc:
        return exc.errors
    return []


def _needed_by_12(doc: dict[str, Any], errors: list[CapError]) -> None:
    """What CAP 1.0 lets out and CAP 1.2 requires: never guessed on a life-safety door."""
    if doc.get("scope") is None and not any(e.path == "alert.scope" for e in errors):
        errors.append(
            CapError("alert.scope", "is required by CAP 1.2 (CAP 1.0 let it out; who may see an alert is not guessed)")
        )
    for i, info in enumerate(doc.get("info") or []):
        if not info.get("category") and not any(e.path.startswith(f"alert.info[{i}].category") for e in errors):
            errors.append(CapError(f"alert.info[{i}].category", "is required by CAP 1.2 (CAP 1.0 let it out)"))


def _to_12(doc: dict[str, Any], version: str) -> dict[str, Any]:
    """A checked document of `version` as CAP 1.2 (the checks already refused what 1.2 cannot carry)."""
    if version == "1.2":
        return doc
    doc = dict(doc)
    doc.pop("password", None)  # CAP 1.0's password: never kept (the HMAC signature authenticates partners)
    infos = []
    for info in doc.get("info") or []:
        info = dict(info)
        if info.get("certainty") == "Very Likely":
            info["certainty"] = "Likely"
        resources = []
        for res in info.get("resource") or []:
            res = dict(res)
            if res.get("mimeType") is None:
                res["mimeType"] = "application/octet-stream"
            resources.append(res)
        if resources:
            info["resource"] = resources
        infos.append(info)
    if infos:
        doc["info"] = infos
    return doc


def _pairs(items: list[Mapping[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((p["valueName"], p["value"]) for p in items or () if p.get("valueName") is not None)


def _build(doc: dict[str, Any], refs: tuple[Reference, ...], version: str, signed: bool) -> CapAlert:
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
        version=version,
        signed=signed,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
