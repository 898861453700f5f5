"""What the alerts scenarios of issue 29 share (10: cut off, 11: replicas, 12: skewed clocks): the service
started with short escalation deadlines, a partner that sends signed CAP alerts and repeats a refused one as a
partner must (the same document, re-signed), and the reads of the alerts topic and database they check."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from faults_harness import service_test_module, start_service

from lsg_events.partner import signed_headers
from lsg_local.testing import PrivateInfra, ServiceProcess, unique
from lsg_testkit.alerts import cap_json

alerts_kit = service_test_module("alerts_test_conftest", "services/alerts/tests/conftest.py")
RAISED = "lv.lsg.alert.raised.v1"
ESCALATED = "lv.lsg.alert.escalated.v1"
SECRETS_KEY = Fernet.generate_key().decode()  # one key for every replica of a scenario (partner secrets sealed)


async def start_alerts(
    private: PrivateInfra,
    tmp_path: Path,
    *,
    extreme_deadline_s: float = 3600,
    supervision_s: float = 0.5,
    db_port: int | None = None,
    dsn: str | None = None,
    **env: str,
) -> tuple[ServiceProcess, str]:
    """The alerts service with its own database (or ``dsn``: a second replica shares the first one's), partner
    limits out of the way unless ``env`` sets them, and Extreme alerts escalating after ``extreme_deadline_s``."""
    deadlines = {"Extreme": extreme_deadline_s, "Severe": 3600, "Moderate": 3600, "Unknown": 3600}
    settings = {
        "LSG_API_TOKENS": alerts_kit.TOKENS,
        "LSG_ALERTS_SECRETS_KEY": SECRETS_KEY,
        "LSG_PARTNER_GROUP_ID": unique("alerts-partner-input"),
        "LSG_PARTNER_RATE_PER_S": "10000",
        "LSG_PARTNER_RATE_BURST": "10000",
        "LSG_ACK_DEADLINES_S": json.dumps(deadlines),
        "LSG_SUPERVISION_INTERVAL_S": str(supervision_s),
        **env,
    }
    return await start_service("alerts", private, tmp_path, db_port=db_port, dsn=dsn, **settings)


@dataclass
class Partner:
    """A partner and its device; ``deliver`` sends one alert until the service acknowledges it."""

    partner_id: str
    secret: str
    device_id: str
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: dict[str, str] = field(default_factory=dict)  # identifier -> alert id ("" if a 200 duplicate)
    severity: dict[str, str] = field(default_factory=dict)
    refused_503: int = 0
    bad_503: list[str] = field(default_factory=list)  # a 503 without problem+json or Retry-After
    transport_errors: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # a 500, or any status a partner cannot act on

    @classmethod
    async def register(cls, client: httpx.AsyncClient, name: str) -> Partner:
        pid, secret = await alerts_kit.create_partner(client, unique(f"faults-{name}"))
        return cls(pid, secret, await alerts_kit.install_device(client, pid))

    async def deliver(
        self,
        client: httpx.AsyncClient,
        identifier: str,
        severity: str = "Minor",
        *,
        clock_offset_s: float = 0,
        retry_cap_s: float = 1.0,
        give_up_s: float = 300,
    ) -> int:
        """Send one alert and repeat it (the same document, signed again) after a 503 or a transport error until
        it is accepted (202, or 200 duplicate when an earlier attempt had gone through). Returns the final status;
        a 4xx other than those, or a 500, is recorded as unexpected and ends the delivery."""
        body = cap_json(identifier=identifier, device_id=self.device_id, status="Actual", severity=severity)
        self.severity[identifier] = severity
        path = f"/v1/partners/{self.partner_id}/alerts"
        deadline = time.monotonic() + give_up_s
        while time.monotonic() < deadline:
            headers = signed_headers(self.secret, body, timestamp=int(time.time() + clock_offset_s))
            try:
                r = await client.post(path, content=body, headers=headers)
            except httpx.TransportError as exc:
                self.transport_errors[type(exc).__name__] += 1
                await asyncio.sleep(0.3)
                continue
            self.statuses[r.status_code] += 1
            if r.status_code == 202:
                self.accepted[identifier] = r.json()["alert_id"]
                return 202
            if r.status_code == 200 and r.json().get("outcome") == "duplicate":
                self.accepted.setdefault(identifier, r.json().get("alert_id", ""))
                return 200
            if r.status_code == 503:
                self.refused_503 += 1
                retry_after = r.headers.get("retry-after", "")
                if not r.headers.get("content-type", "").startswith("application/problem+json") or not (
                    retry_after.isdigit() and int(retry_after) >= 1
                ):
                    self.bad_503.append(f"{dict(r.headers)} {r.text[:200]}")
                # A partner waits Retry-After; the test waits less so that a short outage sees many attempts.
                await asyncio.sleep(min(float(retry_after or 1), retry_cap_s))
                continue
            self.unexpected.append(f"{identifier}: {r.status_code} {r.text[:300]}")
            return r.status_code
        self.unexpected.append(f"{identifier}: not accepted in {give_up_s}s")
        return 0


def raised_by(seen: Any, partner_ids: set[str]) -> list[Any]:
    return [e for e in seen.events(RAISED) if e.data.partner_id in partner_ids and e.data.kind in (None, "cap")]


def raised_records(seen: Any, partner_ids: set[str]) -> list[Any]:
    """The partners' ``alert.raised`` records, each (topic, partition, offset) once: a reader that sees a record
    twice (its group rebalanced) is not the service publishing it twice."""
    found: dict[tuple[str, int, int], Any] = {}
    for r in seen.records:
        e = r.event
        if e is not None and e.type == RAISED and e.data.partner_id in partner_ids and e.data.kind in (None, "cap"):
            found.setdefault((r.topic, r.partition, r.offset), r)
    return list(found.values())


def once_each(records: list[Any], accepted: set[tuple[str, str]]) -> dict[str, int]:
    """How the raised records compare with the accepted alerts (partner, identifier): missing, extra, and
    ``duplicates``: an alert raised by two different events (two CloudEvent ids for one identifier or for one
    alert id). ``redelivered``: the same event (same CloudEvent id) at another offset, what the outbox relay
    sends again when it could not mark a batch published after Kafka took it (consumers deduplicate by id)."""
    ids_of: dict[tuple[str, str], set[str]] = {}
    by_alert_id: dict[str, set[str]] = {}
    for r in records:
        e = r.event
        ids_of.setdefault((e.data.partner_id, e.data.identifier), set()).add(e.id)
        by_alert_id.setdefault(e.data.alert_id, set()).add(e.id)
    distinct = {i for ids in ids_of.values() for i in ids}
    return {
        "missing": len(accepted - set(ids_of)),
        "extra": len(set(ids_of) - accepted),
        "duplicates": sum(len(v) - 1 for v in ids_of.values()) + sum(len(v) - 1 for v in by_alert_id.values()),
        "redelivered": len(records) - len(distinct),
    }


def escalation_steps(seen: Any, alert_ids: set[str]) -> Counter[tuple[str, int]]:
    """(alert id, escalation count) of every distinct alert.escalated event (by CloudEvent id: a relay's
    redelivered copy is the same event) of those alerts: each step must appear once."""
    events = {e.id: e for e in seen.events(ESCALATED) if e.data.alert_id in alert_ids}
    return Counter((e.data.alert_id, e.data.escalation_count) for e in events.values())


async def stored_alerts(dsn: str, partner_ids: set[str]) -> Counter[tuple[str, str]]:
    """Rows of the alerts table per (partner, identifier): the stored side of "no event without its row"."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT partner_id, identifier FROM alerts WHERE partner_id = ANY($1::text[]) AND kind = 'cap'",
            list(partner_ids),
        )
    finally:
        await conn.close()
    return Counter((r["partner_id"], r["identifier"]) for r in rows)


async def pending_outbox(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL"))
    finally:
        await conn.close()
