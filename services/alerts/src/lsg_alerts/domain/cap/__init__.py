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

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lsg_alerts.domain.cap.formats import (
    _from_json,
    _from_xml,
    detect_format,
    detect_version,
)
from lsg_alerts.domain.cap.model import (
    CAP10_NS,
    CAP11_NS,
    CAP_NS,
    CATEGORIES,
    CERTAINTIES,
    DEVICE_PARAMETER,
    DSIG_NS,
    MSG_TYPES,
    NAMESPACES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    VERSIONS,
    Area,
    CapAlert,
    CapError,
    CapInvalid,
    Info,
    Reference,
)
from lsg_alerts.domain.cap.schema import (
    ALERT,
    ORDER,
    SCHEMAS,
    SIGNATURE,
    VALUE_PAIR,
    Check,
    Elem,
    Tree,
    _rules,
    _walk,
)


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


__all__ = [
    "ALERT",
    "CAP10_NS",
    "CAP11_NS",
    "CAP_NS",
    "CATEGORIES",
    "CERTAINTIES",
    "DEVICE_PARAMETER",
    "DSIG_NS",
    "MSG_TYPES",
    "NAMESPACES",
    "ORDER",
    "RESPONSE_TYPES",
    "SCHEMAS",
    "SCOPES",
    "SEVERITIES",
    "SIGNATURE",
    "STATUSES",
    "URGENCIES",
    "VALUE_PAIR",
    "VERSIONS",
    "Area",
    "CapAlert",
    "CapError",
    "CapInvalid",
    "Check",
    "Elem",
    "Info",
    "Reference",
    "Tree",
    "detect_format",
    "detect_version",
    "parse",
    "validate",
]
