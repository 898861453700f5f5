"""Secrets for a one-machine install (`make run`, compose): generated once, kept in a folder, never committed.

``services.env`` holds what the services read (pseudonym keys, the alerts secrets key, ``LSG_API_TOKENS`` with
only the SHA-256 of each bearer token); ``tokens.env`` holds the plain bearer tokens of a ``demo-admin``, a
``demo-editor`` and a ``demo-viewer`` user, for the person (and the demo) using that install. Both are shell
``KEY=value`` files (mode 0600 where the file system allows), so ``set -a; . services.env`` loads them.
Production installs take their secrets from Kubernetes Secrets instead (docs/security.md).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

from lsg_shared.auth import hash_token

SERVICE_KEYS = ("LSG_SURVEYS_PSEUDONYM_KEY", "LSG_TRAINING_PSEUDONYM_KEY", "LSG_ALERTS_SECRETS_KEY")
USERS: tuple[tuple[str, str, str], ...] = (
    ("LSG_DEMO_ADMIN_TOKEN", "demo-admin", "admin"),
    ("LSG_DEMO_EDITOR_TOKEN", "demo-editor", "editor"),
    ("LSG_DEMO_VIEWER_TOKEN", "demo-viewer", "viewer"),
)


def generate() -> dict[str, str]:
    """Fresh values: the services' keys and the three users' plain tokens."""
    return {
        "LSG_SURVEYS_PSEUDONYM_KEY": secrets.token_urlsafe(48),
        "LSG_TRAINING_PSEUDONYM_KEY": secrets.token_urlsafe(48),
        "LSG_ALERTS_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        **{name: f"lsg_{role}_" + secrets.token_urlsafe(24) for name, _, role in USERS},
    }


def api_tokens(values: dict[str, str]) -> str:
    """``LSG_API_TOKENS`` for the users in ``values`` (hashes only)."""
    entries: list[dict[str, Any]] = [
        {"sha256": hash_token(values[name]), "subject": subject, "roles": [role]} for name, subject, role in USERS
    ]
    return json.dumps(entries, separators=(",", ":"))


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip("'\"")
    return values


def _write(path: Path, header: str, values: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(header)
        for key, value in values.items():
            fh.write(f"{key}='{value}'\n")  # single quotes: the JSON of LSG_API_TOKENS survives `. file`


def init(folder: Path) -> tuple[dict[str, str], bool]:
    """The folder's secrets, generated on the first call; (all values, whether they were created now)."""
    folder.mkdir(parents=True, exist_ok=True)
    services, users = folder / "services.env", folder / "tokens.env"
    if services.is_file() and users.is_file():
        return {**read_env(users), **read_env(services)}, False
    values = generate()
    note = "# Generated once for this install; delete both files to regenerate (earlier pseudonyms then change).\n"
    user_values = {name: values[name] for name, _, _ in USERS}
    service_values = {k: values[k] for k in SERVICE_KEYS} | {"LSG_API_TOKENS": api_tokens(values)}
    _write(users, note + "# Bearer tokens of the demo users: keep them to yourself.\n", user_values)
    _write(services, note + "# What the services read (tokens as hashes only).\n", service_values)
    return {**user_values, **service_values}, True
