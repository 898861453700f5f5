"""Privacy plumbing every service shares: how an erasure request names a person without naming them.

A person is known to each service by different things (training: a registration number, name, e-mail, phone;
surveys: a phone or a respondent reference; the audit log: a login subject), and each service's pseudonymous key
is its own secret, so no key is shared across services. An erasure request therefore carries **subject tokens**:
``ps_`` + HMAC-SHA-256 of one normalised identifier (``kind:value``) under ``LSG_PRIVACY_SUBJECT_KEY``, a key
every service and the operator's tool hold for this purpose only. A service computes the same tokens over what
it holds and erases the records whose tokens meet the request's. Nobody reading the topic without the key can
go back from a token to a phone number, nor test guesses; a service holding the key can only match people it
already holds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

TOKEN_PREFIX = "ps_"  # noqa: S105 (a prefix, not a secret)
KINDS = ("email", "phone", "ref", "name", "login")
# A development-only key (never outside development, test, local): local runs and tests agree across services.
DEVELOPMENT_KEY = hashlib.sha256(b"lsg-privacy-subject-development-only-key").hexdigest()


def normalise_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: 'Jānis  BĒRZIŅŠ' and 'jānis bērziņš' are one name."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalise_phone(phone: str) -> str:
    """Digits only, so '+371 2000-0000' and '37120000000' are one phone."""
    return re.sub(r"\D", "", phone)


def _normalised(kind: str, value: str) -> str:
    if kind == "phone":
        return normalise_phone(value)
    return normalise_text(value)


def token(key: str | bytes, kind: str, value: str) -> str:
    """The subject token of one identifier (``kind`` one of :data:`KINDS`; a name is ``"<COUNTRY>|<name>"``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {KINDS}")
    secret = key.encode() if isinstance(key, str) else key
    if not secret:
        raise ValueError("the privacy subject key is empty")
    message = f"{kind}:{_normalised(kind, value)}".encode()
    return TOKEN_PREFIX + hmac.new(secret, message, hashlib.sha256).hexdigest()


def subject_tokens(
    key: str | bytes,
    *,
    email: str | None = None,
    phone: str | None = None,
    ref: str | None = None,
    name: str | None = None,
    country: str | None = None,
    login: str | None = None,
) -> list[str]:
    """Every token the given identifiers make. A name counts only with its country (a name alone is too weak);
    a phone only with at least six digits."""
    found: list[str] = []
    if email and email.strip():
        found.append(token(key, "email", email))
    if phone and len(normalise_phone(phone)) >= 6:
        found.append(token(key, "phone", phone))
    if ref and ref.strip():
        found.append(token(key, "ref", ref))
    if name and name.strip() and country:
        found.append(token(key, "name", f"{country.upper()}|{name}"))
    if login and login.strip():
        found.append(token(key, "login", login))
    return found


def matches(key: str | bytes, wanted: Iterable[str], **identifiers: str | None) -> bool:
    """True when any token of `identifiers` is among `wanted`."""
    tokens = set(wanted)
    return bool(tokens) and any(t in tokens for t in subject_tokens(key, **identifiers))


__all__ = [
    "DEVELOPMENT_KEY",
    "KINDS",
    "TOKEN_PREFIX",
    "matches",
    "normalise_phone",
    "normalise_text",
    "subject_tokens",
    "token",
]
