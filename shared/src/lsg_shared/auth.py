"""Who may call a write or a non-public read: bearer tokens mapped to the suite's roles.

Roles are ordered ``viewer`` < ``editor`` < ``admin``. Machine and local tokens are configured as SHA-256
hashes (``LSG_API_TOKENS``, a JSON list), so the configuration never holds a usable secret:

    [{"sha256": "<hex of sha256(token)>", "subject": "ops-bot", "roles": ["admin"],
      "countries": ["LV"], "municipalities": []}]

Empty ``countries`` / ``municipalities`` mean no restriction. Routes declare what they need with
``Depends(require("editor"))``; a missing or unknown token answers 401, too low a role 403, both as
problem+json.

People sign in through the associations' identity provider (Keycloak, Microsoft Entra ID: OpenID Connect).
With ``LSG_OIDC_ISSUER`` and ``LSG_OIDC_AUDIENCE`` set, a JWT bearer token is verified against the provider's
JWKS (discovered from the issuer and cached, or read from ``LSG_OIDC_JWKS_FILE`` for offline installs):
signature, issuer, audience, expiry (with ``LSG_OIDC_LEEWAY_S`` of clock skew). Its roles come from the
claim named by ``LSG_OIDC_ROLES_CLAIM`` (dotted: ``realm_access.roles`` for Keycloak, ``roles`` for Entra),
mapped through ``LSG_OIDC_ROLE_MAP`` (JSON, e.g. ``{"lsg-editors": "editor"}``; the suite's own role names
map to themselves); scope from the ``lsg_countries`` / ``lsg_municipalities`` claims.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, TypeAdapter

from lsg_shared.problems import Problem

RoleName = Literal["viewer", "editor", "admin"]
# How a caller proved who it is (recorded in the audit log): an OIDC token, a static token, a partner's HMAC
# signature; "invalid" is a credential that was presented and refused, "operator" the lsg-admin command line.
AuthKind = Literal["oidc", "static", "partner", "anonymous", "invalid", "operator", "system"]
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
    auth: AuthKind = "static"

    def has(self, role: str) -> bool:
        return any(_RANK.get(r, 0) >= _RANK[role] for r in self.roles)

    def may_act_in(self, country: str | None, municipality: str | None = None) -> bool:
        """Scope check: an editor of one municipality cannot write another's data."""
        if self.countries and country not in self.countries:
            return False
        return not (self.municipalities and municipality not in self.municipalities)


@dataclass
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    roles_claim: str = "roles"
    role_map: dict[str, str] = field(default_factory=dict)
    leeway_s: int = 30
    algorithms: tuple[str, ...] = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")


class OidcVerifier:
    """Verifies provider-issued JWTs. Keys are cached; an unknown ``kid`` triggers one JWKS refresh."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._client: jwt.PyJWKClient | None = None
        self._file_keys: jwt.PyJWKSet | None = None
        if config.jwks_file:
            self._file_keys = jwt.PyJWKSet.from_json(Path(config.jwks_file).read_text("utf-8"))

    def _jwks_url(self) -> str:
        if self.config.jwks_url:
            return self.config.jwks_url
        discovery = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        with urllib.request.urlopen(discovery, timeout=5) as response:  # noqa: S310 (configured https issuer)
            url: str = json.load(response)["jwks_uri"]
        self.config.jwks_url = url
        return url

    def _signing_key(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if self._file_keys is not None:
            for key in self._file_keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
            raise jwt.InvalidTokenError(f"no key {kid!r} in the configured JWKS file")
        if self._client is None:
            self._client = jwt.PyJWKClient(self._jwks_url(), cache_keys=True, lifespan=300)
        return self._client.get_signing_key_from_jwt(token).key

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; raises ``jwt.InvalidTokenError`` saying why it is not."""
        claims = jwt.decode(
            token,
            self._signing_key(token),
            algorithms=list(self.config.algorithms),
            audience=self.config.audience,
            issuer=self.config.issuer,
            leeway=self.config.leeway_s,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        node: Any = claims
        for part in self.config.roles_claim.split("."):
            node = node.get(part, []) if isinstance(node, dict) else []
        granted = node if isinstance(node, list) else [node]
        roles = {self.config.role_map.get(str(r), str(r)) for r in granted}
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(r for r in roles if r in _RANK),
            countries=frozenset(claims.get("lsg_countries", [])),
            municipalities=frozenset(claims.get("lsg_municipalities", [])),
            auth="oidc",
        )


class TokenRegistry:
    def __init__(self, entries: list[TokenEntry], oidc: OidcVerifier | None = None) -> None:
        self._by_hash = {e.sha256: e for e in entries}
        self._oidc = oidc

    def authenticate(self, token: str) -> Principal | None:
        if self._oidc is not None and token.count(".") == 2:
            try:
                return self._oidc.verify(token)
            except (jwt.InvalidTokenError, jwt.PyJWKClientError, OSError):
                return None
        digest = hash_token(token)
        for known, entry in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return Principal(
                    entry.subject, frozenset(entry.roles), frozenset(entry.countries), frozenset(entry.municipalities)
                )
        return None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type_="unauthorized", headers={"WWW-Authenticate": "Bearer"})


# One bearer scheme per role: the OpenAPI document then names, for every operation, the role it needs
# (integrators read it there; the route-walking test checks every write route declares one).
_SCHEMES = {
    role: HTTPBearer(
        auto_error=False,
        scheme_name=f"bearer-{role}",
        description=f"Bearer token (OpenID Connect or static API token) holding at least the '{role}' role.",
    )
    for role in _RANK
}


def require(role: RoleName) -> Callable[..., Awaitable[Principal]]:
    """FastAPI dependency: the caller's principal, which holds at least `role`."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_SCHEMES[role])
    ) -> Principal:
        registry: TokenRegistry | None = getattr(request.app.state, "tokens", None)
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials.strip():
            if request.headers.get("authorization"):
                request.scope["lsg.auth_refused"] = True  # the audit log: a credential was presented and refused
            raise _unauthorized("An 'Authorization: Bearer <token>' header is required.")
        token = credentials.credentials.strip()
        principal = await asyncio.to_thread(registry.authenticate, token) if registry is not None else None
        if principal is None:
            request.scope["lsg.auth_refused"] = True
            raise _unauthorized("The bearer token is not valid.")
        request.scope["lsg.principal"] = principal  # who is recorded in the audit log, refused (403) or not
        if not principal.has(role):
            raise Problem(403, "Forbidden", f"This operation needs the '{role}' role.", type_="forbidden")
        return principal

    dependency.required_role = role  # type: ignore[attr-defined]
    return dependency


def ensure_scope(principal: Principal, country: str | None, municipality: str | None = None) -> None:
    if not principal.may_act_in(country, municipality):
        raise Problem(
            403,
            "Forbidden",
            f"Your token may not act in {country}/{municipality or '*'}.",
            type_="forbidden-scope",
        )


def registry_from_settings(settings: Any) -> TokenRegistry:
    """The token registry a service's settings describe (static tokens, plus OIDC when configured)."""
    oidc = None
    if getattr(settings, "oidc_issuer", None) and getattr(settings, "oidc_audience", None):
        oidc = OidcVerifier(
            OidcConfig(
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience,
                jwks_url=settings.oidc_jwks_url,
                jwks_file=settings.oidc_jwks_file,
                roles_claim=settings.oidc_roles_claim,
                role_map=json.loads(settings.oidc_role_map or "{}"),
                leeway_s=settings.oidc_leeway_s,
            )
        )
    return TokenRegistry(parse_tokens(settings.api_tokens), oidc)
