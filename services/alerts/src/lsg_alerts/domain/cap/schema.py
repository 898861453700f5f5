"""The CAP 1.2/1.1/1.0 element tables (from the XSDs), the value checks, the walk that applies them, and the
specification's prose rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lsg_alerts.domain.cap.model import (
    _DATETIME,
    _DECIMAL,
    _FORBIDDEN_ID_CHARS,
    _LANGUAGE,
    _XS_DATETIME,
    CATEGORIES,
    CERTAINTIES,
    DSIG_NS,
    MSG_TYPES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    CapError,
    Reference,
)

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
