"""Operations gauges read from the alerts database: what is waiting for a person, and device health.

Sampled by the supervisor after each scan, so Prometheus sees alerts awaiting acknowledgement (and those past
their deadline) by severity, and devices by status, without a query per scrape.
"""

from __future__ import annotations

import asyncpg
from prometheus_client import Counter, Gauge

from lsg_shared.metrics import registry

AWAITING_ACK = Gauge(
    "lsg_alerts_awaiting_ack",
    "Live (non-drill) alerts raised and not yet acknowledged",
    ["severity"],
    registry=registry,
)
OVERDUE = Gauge(
    "lsg_alerts_overdue",
    "Live alerts not acknowledged past their acknowledgement deadline",
    ["severity"],
    registry=registry,
)
OLDEST_UNACKED = Gauge(
    "lsg_alerts_oldest_unacknowledged_seconds",
    "Age of the oldest unacknowledged live alert",
    ["severity"],
    registry=registry,
)
ESCALATIONS = Counter("lsg_alert_escalations", "Alerts escalated to the next level", registry=registry)
DEVICES = Gauge("lsg_devices", "Emergency-communication devices by status", ["status"], registry=registry)

SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
STATUSES = ("planned", "installed", "online", "offline", "maintenance", "decommissioned")


async def sample(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        alerts = await conn.fetch(
            """
            SELECT severity,
                   count(*) AS waiting,
                   count(*) FILTER (WHERE ack_deadline IS NOT NULL AND ack_deadline < now()) AS overdue,
                   coalesce(extract(epoch FROM now() - min(received_at)), 0) AS oldest_s
            FROM alerts WHERE state = 'raised' AND NOT drill GROUP BY severity
            """
        )
        devices = await conn.fetch("SELECT status, count(*) AS n FROM devices GROUP BY status")
    by_severity = {r["severity"]: r for r in alerts}
    for severity in SEVERITIES:
        row = by_severity.get(severity)
        AWAITING_ACK.labels(severity).set(row["waiting"] if row else 0)
        OVERDUE.labels(severity).set(row["overdue"] if row else 0)
        OLDEST_UNACKED.labels(severity).set(float(row["oldest_s"]) if row else 0.0)
    counts = {r["status"]: r["n"] for r in devices}
    for status in STATUSES:
        DEVICES.labels(status).set(counts.get(status, 0))
