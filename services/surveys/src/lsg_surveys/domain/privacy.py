"""Pseudonymous respondent keys and coarse demographics: what may leave the service about a person.

A respondent key is an HMAC-SHA256 of a normalised identity under a secret key held only by this service.
The same person (same external reference or phone) gets the same key in every wave, so panels can be
followed, but nobody without the secret can go back from the key to the phone number, nor test guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from lsg_events.surveys import AgeBand

AGE_BANDS: tuple[tuple[int, int, AgeBand], ...] = (
    (16, 24, "16-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 200, "65+"),
)


def age_band(age: int | None) -> AgeBand:
    """The band of an age in years; under 16 or unknown is 'undisclosed' (too small a group to publish)."""
    if age is None:
        return "undisclosed"
    for low, high, band in AGE_BANDS:
        if low <= age <= high:
            return band
    return "undisclosed"


def normalise_phone(phone: str) -> str:
    """Digits only, so '+371 2000-0000' and '37120000000' are one person."""
    return re.sub(r"\D", "", phone)


def normalise_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class Pseudonymizer:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the pseudonym key is empty")
        self._secret = secret.encode()

    def _mac(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def respondent_key(
        self,
        *,
        ref: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        settlement_code: str | None = None,
        fallback: str,
    ) -> str:
        """The best identity available: external reference, phone, name within a settlement, else `fallback`
        (the response's own first submission id: a respondent nobody can link to another response)."""
        if ref and ref.strip():
            return "rk_" + self._mac("ref", normalise_text(ref))[:40]
        if phone and len(normalise_phone(phone)) >= 6:
            return "rk_" + self._mac("phone", normalise_phone(phone))[:40]
        if name and name.strip() and settlement_code:
            return "rk_" + self._mac("name", f"{settlement_code}|{normalise_text(name)}")[:40]
        return "rk_" + self._mac("submission", fallback)[:40]
