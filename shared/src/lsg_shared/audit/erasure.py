"""The audit log's user identities are personal data: erase one person's (an erasure request's subject tokens
matched against the log's subjects) and anonymise every row past the identity retention."""

from __future__ import annotations

from collections.abc import Iterable

from lsg_shared import privacy
from lsg_shared.audit import store
from lsg_shared.db import Conn


async def erase_person(conn: Conn, key: str | bytes, tokens: Iterable[str]) -> int:
    """Erase the identities of every subject whose login token is among `tokens`; how many rows changed.
    The match is made here, so the request never names the login."""
    wanted = set(tokens)
    if not wanted:
        return 0
    found = [s for s in await store.subjects(conn) if privacy.token(key, "login", s) in wanted]
    return await store.erase_subjects(conn, found)
