"""CAP's vocabulary and the alert the suite keeps: namespaces, enumerations, the parsed alert and its faults."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
