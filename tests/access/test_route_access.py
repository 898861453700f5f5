"""Every route of every service declares who may call it, and refuses everyone else.

Walks each service's OpenAPI document: an operation that is neither an operations endpoint nor in the
service's explicit PUBLIC_READS list (nor a partner door signed with HMAC) must declare exactly one
``bearer-<role>`` security requirement (what ``require(role)`` adds). Then, over HTTP,
each such route refuses a request without a token (401), with an unknown token (401), with an expired or
wrongly signed OIDC token (401), and with a token of too low a role (403) — as problem+json.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = pytest.mark.component

SERVICES = ("surveys", "training", "alerts", "reporting")
OPERATIONS = re.compile(r"^(GET|HEAD) /(health/live|health/ready|metrics|docs.*|redoc|openapi\.json|asyncapi.*)$")
ISSUER, AUDIENCE = "https://id.example/realms/lsg", "lsg-events"
RANK = {"viewer": 1, "editor": 2, "admin": 3}


def public_of(service: str) -> set[str]:
    """The service's explicit public list, plus partner doors that authenticate by HMAC signature."""
    found: set[str] = set()
    package = importlib.import_module(f"lsg_{service}.entrypoints")
    root = Path(package.__path__[0])
    for module in [*root.glob("*.py"), *root.glob("routes/*.py")]:
        dotted = ".".join(module.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        mod = importlib.import_module(f"lsg_{service}.entrypoints.{dotted}")
        for name in ("PUBLIC_READS", "PUBLIC_ROUTES", "SIGNED_ROUTES", "HMAC_ROUTES"):
            found |= set(getattr(mod, name, ()))
    return found


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": "k1", "alg": "RS256"})
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return {"private": private, "stranger": stranger, "jwks": str(path)}


def oidc_token(key: Any, roles: list[str], exp_offset: int = 300) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + exp_offset, "roles": roles}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def build(service: str, keys: dict[str, Any]) -> FastAPI:
    settings_module = importlib.import_module(f"lsg_{service}.settings")
    settings_cls = next(getattr(settings_module, n) for n in dir(settings_module) if n.lower() == f"{service}settings")
    tokens = api_tokens(*(grant(f"{role}-token", role, [role]) for role in RANK))
    settings = settings_cls(api_tokens=tokens, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_file=keys["jwks"])
    app = importlib.import_module(f"lsg_{service}.entrypoints.app").create_app(settings)
    assert isinstance(app, FastAPI)
    return app


def protected_routes(app: FastAPI, public: set[str]) -> list[tuple[str, str, str | None]]:
    """(method, path, role) of every operation in the service's OpenAPI that is not public."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            key = f"{method.upper()} {path}"
            if OPERATIONS.match(key) or key in public:
                continue
            roles = [name.removeprefix("bearer-") for req in operation.get("security", []) for name in req]
            out.append((method.upper(), path, roles[0] if len(roles) == 1 else None))
    return out


@pytest.mark.parametrize("service", SERVICES)
async def test_every_non_public_route_declares_a_role_and_refuses_strangers(service: str, keys: dict[str, Any]) -> None:
    app = build(service, keys)
    public = public_of(service)
    routes = protected_routes(app, public)
    assert routes, f"{service}: no protected routes found"
    undeclared = [f"{m} {p}" for m, p, role in routes if role is None]
    assert not undeclared, f"{service}: routes with neither a role nor a place in the public list: {undeclared}"
    writes = [r for r in routes if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    assert writes or service == "reporting", f"{service}: expected write routes"
    expired = oidc_token(keys["private"], ["admin"], exp_offset=-3600)
    foreign = oidc_token(keys["stranger"], ["admin"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method, path, role in routes:
            url = re.sub(r"\{[^}]+\}", "x1", path)
            for headers, what in (
                ({}, "no token"),
                ({"Authorization": "Bearer not-a-known-token"}, "unknown token"),
                ({"Authorization": f"Bearer {expired}"}, "expired OIDC token"),
                ({"Authorization": f"Bearer {foreign}"}, "OIDC token signed by another key"),
            ):
                r = await client.request(method, url, headers=headers, json={})
                assert r.status_code == 401, f"{service} {method} {path} with {what}: {r.status_code} {r.text[:200]}"
                assert r.headers["content-type"].startswith("application/problem+json")
            assert role is not None
            lower = [name for name, rank in RANK.items() if rank < RANK[role]]
            for weaker in lower:
                for token in (f"{weaker}-token", oidc_token(keys["private"], [weaker])):
                    r = await client.request(method, url, headers=bearer(token), json={})
                    assert r.status_code == 403, f"{service} {method} {path} as {weaker}: {r.status_code}"


@pytest.mark.parametrize("service", SERVICES)
def test_public_list_is_short_and_names_real_get_routes(service: str, keys: dict[str, Any]) -> None:
    app = build(service, keys)
    routes = {f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops}
    public = public_of(service)
    reads = {p for p in public if p.startswith("GET ")}
    assert reads <= routes, f"{service}: public entries that are not routes: {reads - routes}"
    assert len(reads) <= 8, f"{service}: the public list should stay short"


@pytest.mark.parametrize("service", SERVICES)
async def test_the_audit_log_export_is_admin_only_on_every_service(service: str, keys: dict[str, Any]) -> None:
    """GET /v1/audit (lsg_shared.audit) is on every service, declares bearer-admin, and refuses everyone else
    (the walk above covers it too; this names it, so dropping it from a service fails loudly)."""
    app = build(service, keys)
    operation = app.openapi()["paths"]["/v1/audit"]["get"]
    assert operation["security"] == [{"bearer-admin": []}]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for params in ({}, {"format": "csv"}):
            assert (await client.get("/v1/audit", params=params)).status_code == 401
            for weaker in ("viewer", "editor"):
                for token in (f"{weaker}-token", oidc_token(keys["private"], [weaker])):
                    r = await client.get("/v1/audit", params=params, headers=bearer(token))
                    assert r.status_code == 403, f"{service} GET /v1/audit as {weaker}: {r.status_code}"
