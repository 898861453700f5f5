"""OpenID Connect bearer tokens, with a locally generated key pair and JWKS file (no network)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lsg_shared.auth import OidcConfig, OidcVerifier, TokenRegistry

pytestmark = pytest.mark.unit
ISSUER = "https://id.lps.example/realms/lsg"
AUDIENCE = "lsg-events"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return private, other, path


def token(key: Any, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-17",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["lsg-editors", "offline_access"]},
        "lsg_countries": ["LV"],
    }
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def registry(keys: tuple[Any, Any, Path]) -> TokenRegistry:
    config = OidcConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_file=str(keys[2]),
        roles_claim="realm_access.roles",
        role_map={"lsg-editors": "editor"},
        leeway_s=5,
    )
    return TokenRegistry([], OidcVerifier(config))


def test_valid_token_is_accepted_with_mapped_roles_and_scope(registry: TokenRegistry, keys: Any) -> None:
    principal = registry.authenticate(token(keys[0]))
    assert principal is not None
    assert principal.subject == "user-17"
    assert principal.roles == frozenset({"editor"})
    assert principal.has("viewer")
    assert not principal.has("admin")
    assert principal.may_act_in("LV")
    assert not principal.may_act_in("RU")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda k: token(k[1]), id="signed-by-another-key"),
        pytest.param(lambda k: token(k[0], exp=int(time.time()) - 60), id="expired"),
        pytest.param(lambda k: token(k[0], aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda k: token(k[0], iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda k: token(k[0])[:-4] + "AAAA", id="tampered-signature"),
        pytest.param(
            lambda k: ".".join(
                [
                    token(k[0]).split(".")[0],
                    jwt.utils.base64url_encode(
                        json.dumps(
                            {
                                "iss": ISSUER,
                                "aud": AUDIENCE,
                                "sub": "admin",
                                "exp": 9999999999,
                                "realm_access": {"roles": ["admin"]},
                            }
                        ).encode()
                    ).decode(),
                    token(k[0]).split(".")[2],
                ]
            ),
            id="tampered-claims",
        ),
        pytest.param(
            lambda k: jwt.encode(
                {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 9999999999},
                "secret",
                algorithm="HS256",
                headers={"kid": "k1"},
            ),
            id="hmac-algorithm",
        ),
    ],
)
def test_bad_tokens_are_refused(registry: TokenRegistry, keys: Any, make: Any) -> None:
    assert registry.authenticate(make(keys)) is None


def test_small_clock_skew_is_tolerated(registry: TokenRegistry, keys: Any) -> None:
    assert registry.authenticate(token(keys[0], exp=int(time.time()) - 2)) is not None
