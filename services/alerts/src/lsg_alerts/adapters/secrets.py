"""Partner HMAC secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from settings or a file.

Several keys may be configured (comma-separated): the first encrypts, every key decrypts, so the key can
be rotated (``MultiFernet.rotate``) without downtime. Plain secrets exist only in memory while a request is
verified and in the one response that creates them; the objects here never print them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets as _random

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from lsg_alerts.settings import AlertsSettings

log = logging.getLogger(__name__)

# Used only when no key is configured in a development environment, so `make run` works out of the box.
_DEV_KEY_SEED = b"lsg-alerts-development-only-not-a-secret"


class SecretsKeyMissing(RuntimeError):
    pass


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretsKeyMissing("no Fernet key configured")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"

    def encrypt(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode())

    def decrypt(self, token: bytes) -> str | None:
        """The plain secret, or None when no configured key opens it (logged without the token)."""
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            log.error("a stored partner secret cannot be decrypted with the configured key(s)")
            return None

    @classmethod
    def from_settings(cls, settings: AlertsSettings) -> SecretBox:
        raw = ""
        if settings.alerts_secrets_key is not None:
            raw = settings.alerts_secrets_key.get_secret_value()
        elif settings.alerts_secrets_key_file is not None:
            raw = settings.alerts_secrets_key_file.read_text("utf-8")
        keys = [k.strip().encode() for k in raw.replace("\n", ",").split(",") if k.strip()]
        if not keys:
            if settings.environment not in ("development", "test"):
                raise SecretsKeyMissing(
                    "LSG_ALERTS_SECRETS_KEY (or LSG_ALERTS_SECRETS_KEY_FILE) is required outside development"
                )
            log.warning("LSG_ALERTS_SECRETS_KEY is not set: using the development key (never do this in production)")
            keys = [base64.urlsafe_b64encode(hashlib.sha256(_DEV_KEY_SEED).digest())]
        return cls(keys)


def new_secret() -> str:
    """A fresh partner secret: 32 random bytes, URL-safe text."""
    return "lsgp_" + _random.token_urlsafe(32)


def new_key() -> str:
    return Fernet.generate_key().decode()
