"""Partner signatures, as the large webhook senders do them.

``X-LSG-Timestamp: <unix seconds>`` and ``X-LSG-Signature: v1=<hex HMAC-SHA256 of timestamp + "." + raw
body>``. Several ``v1=`` values may be given (comma-separated) and each active secret of the partner is
tried (two during a rotation), so either side can rotate without downtime. Comparison is constant-time.

The timestamp must be within ``tolerance_s`` of the time of receipt, either way (a partner's clock a few minutes
off is accepted; a replayed request is not). A timestamp outside that window is refused with the code
``clock-skew`` and a message giving how far off it is and in which direction, so the partner can tell a wrong
clock from a wrong secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

SCHEME = "v1"


@dataclass(eq=False)
class SignatureProblem(Exception):
    """Why a signature was refused (the field it concerns and a message safe to show the caller)."""

    field: str
    message: str
    code: str = ""  # machine-readable cause where one helps the caller (clock-skew)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The header value a partner sends: ``v1=<hex>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def parse_timestamp(raw: str | None, *, field: str = "X-LSG-Timestamp") -> int:
    if raw is None or not raw.strip():
        raise SignatureProblem(field, "is missing")
    text = raw.strip()
    if not text.isdigit() or len(text) > 12:
        raise SignatureProblem(field, "must be the Unix time in seconds")
    return int(text)


def candidates(raw: str | None, *, field: str = "X-LSG-Signature") -> list[str]:
    if raw is None or not raw.strip():
        raise SignatureProblem(field, "is missing")
    found = []
    for part in raw.replace(" ", ",").split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME and value:
            found.append(value.strip().lower())
    if not found:
        raise SignatureProblem(field, "must be 'v1=<hex HMAC-SHA256 of timestamp + \".\" + body>'")
    return found


def skew_message(skew_s: float, tolerance_s: int) -> str:
    """Why a timestamp outside the window is refused: how far off, which way, and what is allowed."""
    direction = "ahead of" if skew_s > 0 else "behind"
    return (
        f"is {abs(skew_s):.0f} s {direction} the time of receipt, outside the signature window of "
        f"{tolerance_s} s either way: the sender's clock is off (set it by NTP) or the request is an old one"
    )


def verify(
    *,
    secrets: Iterable[str],
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    reference_time: float,
    tolerance_s: int,
    timestamp_field: str = "X-LSG-Timestamp",
    signature_field: str = "X-LSG-Signature",
) -> None:
    """Raise SignatureProblem unless one of `secrets` signed `body` at a time within the tolerance."""
    timestamp = parse_timestamp(timestamp_header, field=timestamp_field)
    offered = candidates(signature_header, field=signature_field)
    skew = timestamp - reference_time
    if abs(skew) > tolerance_s:
        raise SignatureProblem(timestamp_field, skew_message(skew, tolerance_s), code="clock-skew")
    message = str(timestamp_header).strip().encode() + b"." + body
    ok = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        for value in offered:
            # Evaluate every pair (no early exit) so timing does not reveal which secret matched.
            ok |= hmac.compare_digest(expected.encode(), value.encode("utf-8", "replace"))
    if not ok:
        raise SignatureProblem(signature_field, "does not match the body and timestamp")
