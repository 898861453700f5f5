"""The records use cases start from, fetched or refused with a ``NotFound`` naming the field that named them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lsg_shared.db import Conn
from lsg_training.adapters import postgres as repo
from lsg_training.application.errors import NotFound


def today() -> date:
    """The latest calendar date in the programme's time zones (Moscow, UTC+3): a session held today has happened."""
    return (datetime.now(UTC) + timedelta(hours=3)).date()


def new_id() -> str:
    return uuid.uuid4().hex


async def programme(conn: Conn, programme_id: str, *, lock: bool = False, field: str = "path:programme_id") -> Any:
    row = await repo.get_programme(conn, programme_id, lock=lock)
    if row is None:
        raise NotFound("programme", programme_id, field)
    return row


async def session(conn: Conn, session_id: str, *, lock: bool = False) -> Any:
    row = await repo.get_session(conn, session_id, lock=lock)
    if row is None:
        raise NotFound("session", session_id, "path:session_id")
    return row


async def participant(conn: Conn, participant_id: uuid.UUID, field: str = "path:participant_id") -> Any:
    row = await repo.get_participant(conn, participant_id)
    if row is None:
        raise NotFound("participant", participant_id, field)
    return row


async def activity(conn: Conn, activity_id: str, *, lock: bool = False) -> Any:
    row = await repo.get_activity(conn, activity_id, lock=lock)
    if row is None:
        raise NotFound("activity", activity_id, "path:activity_id")
    return row
