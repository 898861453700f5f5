"""What every service's access export (GDPR art. 15; 152-FZ art. 14) and erasure share once matched to tokens.

The per-service exports differ in what they hold; these parts did not: the audit rows made by the person's login
(matched by login token, so the request never names the login), a labelled value of the export, a time as ISO
text, and a request's service-local ids split into UUIDs and other keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from lsg_shared import privacy
from lsg_shared.audit import store
from lsg_shared.db import Conn

Labels = Mapping[str, Mapping[str, str]]

# The audit log's own labels, for services whose export lists the audit rows.
AUDIT_LABEL = {"lv": "Audita žurnāla ieraksti", "ru": "Записи журнала аудита", "en": "Audit log rows"}


def labelled(labels: Labels, value: Any, label: str) -> dict[str, Any]:
    """One part of an export: its value and its label in lv/ru/en."""
    return {"label": labels[label], "value": value}


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def split_local_ids(local_ids: Iterable[str]) -> tuple[list[uuid.UUID], list[str]]:
    """A request's service-local ids: the UUIDs (record ids) and the rest (pseudonymous keys, logins)."""
    ids: list[uuid.UUID] = []
    keys: list[str] = []
    for value in local_ids:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            keys.append(value)
    return ids, keys


def matching_logins(subject_key: str | bytes | None, tokens: Iterable[str], logins: Iterable[str]) -> list[str]:
    """The `logins` whose login token is among `tokens` (none without the subject key)."""
    wanted = set(tokens)
    if subject_key is None or not wanted:
        return []
    return [login for login in logins if privacy.token(subject_key, "login", login) in wanted]


async def audit_rows(conn: Conn, subject_key: str | bytes | None, tokens: Iterable[str]) -> list[dict[str, Any]]:
    """The audit rows made by the person's login (a login token among `tokens`), oldest first."""
    logins = matching_logins(subject_key, tokens, await store.subjects(conn))
    if not logins:
        return []
    rows = await conn.fetch(
        f"SELECT occurred_at, action, status, client_addr, user_agent FROM {store.TABLE} "
        "WHERE subject = ANY($1::text[]) ORDER BY id",
        logins,
    )
    return [{**dict(r), "occurred_at": r["occurred_at"].isoformat()} for r in rows]


__all__ = ["AUDIT_LABEL", "Labels", "audit_rows", "iso", "labelled", "matching_logins", "split_local_ids"]
