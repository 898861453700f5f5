"""Static bearer tokens for tests and benches: the ``LSG_API_TOKENS`` value that grants them, and the header
that carries one. The services store only a token's SHA-256 (``lsg_shared.auth.hash_token``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lsg_shared.auth import hash_token


def grant(token: str, subject: str, roles: Sequence[str], countries: Sequence[str] | None = None) -> dict[str, Any]:
    """One ``LSG_API_TOKENS`` entry: `token` (stored as its hash) acts as `subject` with `roles`, limited to
    `countries` when given."""
    entry: dict[str, Any] = {"sha256": hash_token(token), "subject": subject, "roles": list(roles)}
    if countries is not None:
        entry["countries"] = list(countries)
    return entry


def api_tokens(*grants: dict[str, Any]) -> str:
    """The ``LSG_API_TOKENS`` value (JSON) of these :func:`grant` entries."""
    return json.dumps(list(grants))


def bearer(token: str) -> dict[str, str]:
    """The request header that presents `token`."""
    return {"Authorization": f"Bearer {token}"}
