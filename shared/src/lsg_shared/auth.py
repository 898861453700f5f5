"""Who may call a write or a non-public read: bearer tokens mapped to the suite's roles.

Roles are ordered ``viewer`` < ``editor`` < ``admin``. Machine and local tokens are configured as SHA-256
hashes (``LSG_API_TOKENS``, a JSON list), so the configuration never holds a usable secret:

    [{"sha256": "<hex of sha256(token)>", "subject": "ops-bot", "roles": ["admin"],
      "countries": ["LV"], "municipalities": []}]

Empty ``countries`` / ``municipalities`` mean no restriction. Routes declare what they need with
``Depends(require("editor"))``; a missing or unknown token answers 401, too low a role 403, both as
problem+json. (OpenID Connect tokens plug in here too: see the access-control issue.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Request
from pydantic import BaseModel, Field, TypeAdapter

from lsg_shared.problems import Problem

RoleName = Literal["viewer", "editor", "admin"]
_RANK: dict[str, int] = {"viewer": 1, "editor": 2, "admin": 3}


class TokenEntry(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    subject: str
    roles: list[RoleName]
    countries: list[str] = Field(default_factory=list)
    municipalities: list[str] = Field(default_factory=list)


_ENTRIES = TypeAdapter(list[TokenEntry])


def parse_tokens(raw: str | list[TokenEntry] | None) -> list[TokenEntry]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return raw
    return _ENTRIES.validate_python(json.loads(raw))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    countries: frozenset[str] = field(default_factory=frozenset)
    municipalities: frozenset[str] = field(default_factory=frozenset)

    def has(self, role: str) -> bool:
        return any(_RANK.get(r, 0) >= _RANK[role] for r in self.roles)

    def may_act_in(self, country: str | None, municipality: str | None = None) -> bool:
        """Scope check: an editor of one municipality cannot write another's data."""
        if self.countries and country not in self.countries:
            return False
        return not (self.municipalities and municipality not in self.municipalities)


class TokenRegistry:
    def __init__(self, entries: list[TokenEntry]) -> None:
        self._by_hash = {e.sha256: e for e in entries}

    def authenticate(self, token: str) -> Principal | None:
        digest = hash_token(token)
        for known, entry in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return Principal(
                    entry.subject, frozenset(entry.roles), frozenset(entry.countries), frozenset(entry.municipalities)
                )
        return None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type_="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def require(role: RoleName) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the caller's principal, which holds at least `role`."""

    async def dependency(request: Request) -> Principal:
        registry: TokenRegistry | None = getattr(request.app.state, "tokens", None)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("An 'Authorization: Bearer <token>' header is required.")
        principal = registry.authenticate(token.strip()) if registry is not None else None
        if principal is None:
            raise _unauthorized("The bearer token is not valid.")
        if not principal.has(role):
            raise Problem(403, "Forbidden", f"This operation needs the '{role}' role.", type_="forbidden")
        return principal

    dependency.required_role = role  # type: ignore[attr-defined]  # read by the route-walking test
    return dependency


def ensure_scope(principal: Principal, country: str | None, municipality: str | None = None) -> None:
    if not principal.may_act_in(country, municipality):
        raise Problem(
            403,
            "Forbidden",
            f"Your token may not act in {country}/{municipality or '*'}.",
            type_="forbidden-scope",
        )
