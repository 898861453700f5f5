"""Rows recorded by code other than the middleware: a domain :func:`change`, and a Kafka door's :func:`delivery`.

Both take ids and slots only, never a secret or an answer (:func:`~lsg_shared.audit.model.check_detail` refuses
the keys that would hold one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lsg_shared.audit import store
from lsg_shared.audit.context import CURRENT
from lsg_shared.audit.model import check_detail, row_without_request
from lsg_shared.db import Conn


async def change(
    conn: Conn,
    action: str,
    *,
    resource: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    service: str | None = None,
) -> None:
    """Record a domain change in the caller's transaction (ids and slots only, never a secret or an answer).

    Inside a request the subject, address and ids come from that request; elsewhere (a consumer, a job) the
    row says ``auth = 'system'``."""
    check_detail(detail)
    context = CURRENT.get()
    now = datetime.now(UTC)
    if context is not None:
        row = context.row("change", action, resource or {}, detail, None, occurred_at=now)
    else:
        row = row_without_request(
            now, service or "unknown", "change", None, "system", action, resource or {}, detail, None
        )
    await store.insert(conn, row)


def delivery(
    service: str,
    action: str,
    *,
    subject: str | None,
    verified: bool,
    resource: Mapping[str, Any],
    detail: Mapping[str, Any],
    status: int | None,
    trace_id: str | None = None,
) -> tuple[Any, ...]:
    """A ``request`` row for something that did not come over HTTP: a partner's record on a Kafka door.

    The subject is the partner whose signature verified (``auth = 'partner'``) or, refused, the one it claimed
    (``'invalid'``); the status is what the HTTP door would have answered. Hand it to :meth:`AuditWriter.add`."""
    check_detail(detail)
    auth = "partner" if verified else "invalid"
    return row_without_request(
        datetime.now(UTC), service, "request", subject, auth, action, resource, detail, status, trace_id
    )
