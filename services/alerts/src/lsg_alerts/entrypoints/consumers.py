"""The Kafka partner door: signed partner records on ``lsg.partner.input.v1``.

Partner message contract (the record is not a CloudEvent; partners need no SDK):

* value: a CAP 1.2 alert as JSON (the HTTP door's JSON form) or XML, or a heartbeat JSON object with the
  fields of ``lv.lsg.device.heartbeat.v1`` (device_id, partner_id, sent_at, battery_pct, signal_dbm, tamper);
* key: the device id (keeps one device's records in order);
* headers: ``x-lsg-partner`` (partner id), ``x-lsg-timestamp`` (Unix seconds), ``x-lsg-signature``
  (``v1=<hex HMAC-SHA256 of timestamp + "." + value>``, the HTTP scheme), ``content-type``
  (``application/cap+json``, ``application/json``, ``application/cap+xml``), and ``x-lsg-kind``:
  ``alert`` (default) or ``heartbeat`` (``ce_type: lv.lsg.device.heartbeat.v1`` also means heartbeat).

The 5-minute window is measured against the record's Kafka timestamp, not the consumer's clock: a consumer
that was down for an hour must still accept what partners sent meanwhile, and nothing is lost to lag.

The consumer is the shared ``lsg_shared.consumer.EventConsumer`` (subscription, commit after the effect,
hand-back when PostgreSQL or Kafka is away, dead letters) with its own ``process``: a refused record (signature,
size, schema, CAP rules, device right) goes to ``lsg.partner.input.v1.dlq`` with the reason in
``x-lsg-dlq-reason`` and the fields in ``x-lsg-dlq-error``; the consumer commits and goes on. There is no
per-partner rate limit on this door: the consumer's own pace is the limit.

Every record, accepted or refused, leaves one row in the audit log (``lsg_shared.audit.delivery``), as a
request at the HTTP door does: the partner (verified or only claimed), the status that door would have
answered, the outcome or the refusal, the partition and offset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import contacts, heartbeats
from lsg_alerts.application.doors import Inbound, PartnerDoors
from lsg_alerts.application.errors import Rejected
from lsg_alerts.application.residency import NONE, Residency
from lsg_alerts.settings import AlertsSettings
from lsg_events import EVENT_TYPES, topics
from lsg_events.alerts import DeviceHeartbeat
from lsg_events.envelope import CloudEvent
from lsg_events.privacy import PersonErasureRequested
from lsg_shared import audit, consumer, metrics
from lsg_shared.consumer import INFRASTRUCTURE_ERRORS, EventConsumer
from lsg_shared.db import Conn
from lsg_shared.runtime import Runtime
from lsg_shared.uow import Transaction, UnitOfWork

log = logging.getLogger(__name__)

CONSUMER = "alerts-partner-door"
PARTNER = "x-lsg-partner"
TIMESTAMP = "x-lsg-timestamp"
SIGNATURE = "x-lsg-signature"
KIND = "x-lsg-kind"


def _headers(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw or ():
        if value is None:
            continue
        out[str(name).lower()] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


def _kind(headers: dict[str, str]) -> str:
    kind = headers.get(KIND, "").strip().lower()
    if kind:
        return kind
    if headers.get("ce_type") == DeviceHeartbeat.event_type or "heartbeat" in headers.get("content-type", ""):
        return "heartbeat"
    return "alert"


async def _no_cloudevents(conn: Conn, event: CloudEvent) -> None:
    raise AssertionError("the partner topic carries partner documents, not CloudEvents")  # process() is overridden


class PartnerTopicConsumer(EventConsumer):
    """The shared consumer with the partner door's ``process``: authenticate, apply, or dead-letter; audit."""

    def __init__(self, rt: Runtime, doors: PartnerDoors, uow: Callable[[], UnitOfWork]) -> None:
        super().__init__(
            name=CONSUMER, pool=lambda: rt.pool, publish=rt.broker.publish, registry={}, handle=_no_cloudevents
        )
        self.rt = rt
        self.doors = doors
        self.uow = uow

    async def process(self, record: Any) -> None:
        headers = _headers(record.headers)
        kind = _kind(headers)
        try:
            if kind not in ("alert", "heartbeat"):
                raise Rejected(422, "unknown-kind", "Unknown kind", [{"field": KIND, "message": "alert or heartbeat"}])
            partner = headers.get(PARTNER, "").strip()
            if not partner:
                raise Rejected(401, "missing-partner", "Partner missing", [{"field": PARTNER, "message": "is missing"}])
            msg = Inbound(
                door="kafka",
                partner_id=partner,
                timestamp=headers.get(TIMESTAMP),
                signature=headers.get(SIGNATURE),
                body=record.value or b"",
                content_type=headers.get("content-type"),
                reference_time=(record.timestamp / 1000.0)
                if record.timestamp and record.timestamp > 0
                else time.time(),
            )
            if kind == "heartbeat":
                result = await heartbeats.receive(self.uow(), self.doors, msg, rate_limit=False)
            else:
                result = await self.doors.alert(self.uow(), msg, rate_limit=False)
            self._stall = 0
            metrics.EVENTS_CONSUMED.labels(CONSUMER, kind, result.outcome).inc()
            self._audit(record, headers, kind, verified=True, status=result.status, outcome=result.outcome)
        except Rejected as rej:
            await self._dead_letter(record, rej.reason, rej.detail, attempts=1)
            # As at the HTTP door: a refused signature (or a size checked before it) proves no identity.
            verified = rej.status not in (401, 413)
            self._audit(record, headers, kind, verified=verified, status=rej.status, outcome=rej.reason)
        except INFRASTRUCTURE_ERRORS as exc:
            await self._hand_back(exc)
        except Exception as exc:
            # A bug must not stop the partner door: the record is kept in the DLQ for replay after a fix.
            log.exception("partner record %s[%d]@%d failed", record.topic, record.partition, record.offset)
            await self._dead_letter(record, "handler-error", type(exc).__name__, attempts=1)
            self._audit(record, headers, kind, verified=False, status=None, outcome="handler-error")

    def _audit(
        self, record: Any, headers: dict[str, str], kind: str, *, verified: bool, status: int | None, outcome: str
    ) -> None:
        """One audit row per record, like a request at the HTTP door (after the dead letter, when refused)."""
        if self.rt.audit is None:
            return
        partner = headers.get(PARTNER, "").strip()
        self.rt.audit.add(
            audit.delivery(
                self.rt.name,
                # the kind header is the partner's text: only the two known kinds name an action
                f"KAFKA {record.topic} {kind if kind in ('alert', 'heartbeat') else 'unknown'}",
                subject=partner or None,
                verified=verified and bool(partner),
                resource={"partner_id": partner} if partner else {},
                detail={"partition": record.partition, "offset": record.offset, "outcome": outcome},
                status=status,
                trace_id=audit.trace_id_of(headers.get("traceparent")),
            )
        )


def register(rt: Runtime, doors: PartnerDoors, uow: Callable[[], UnitOfWork], group_id: str) -> PartnerTopicConsumer:
    """Subscribe the partner door to ``lsg.partner.input.v1`` (raw records: our code decodes and dead-letters)."""
    door = PartnerTopicConsumer(rt, doors, uow)
    consumer.subscribe(
        rt.broker,
        door,
        topics.PARTNER_INPUT,
        group_id=group_id,
        title="alerts/partner-door",
        description="Signed CAP 1.2 alerts and heartbeats from partner systems",
    )
    return door


def register_privacy(
    rt: Runtime, box: SecretBox, settings: AlertsSettings, residency: Residency | None = None
) -> EventConsumer:
    """``person.erasure_requested`` on the privacy topic: erase the contacts it means and confirm (inbox claim and
    erasure in one transaction; a bad record goes to the topic's dead letters)."""

    async def handle(conn: Any, event: CloudEvent) -> None:
        data = event.data
        if not isinstance(data, PersonErasureRequested):
            return  # the confirmations travel on the same topic
        await contacts.erase_requested(
            Transaction(rt.uow, conn),
            box,
            settings.subject_key(),
            request_id=data.request_id,
            tokens=data.subject_tokens,
            local_ids=data.local_ids.get(contacts.SERVICE, []),
            residency=residency or NONE,
        )

    privacy_consumer = EventConsumer(
        name=settings.privacy_group_id,
        pool=lambda: rt.pool,
        publish=rt.publish_raw,
        registry=EVENT_TYPES,
        handle=handle,
        retries=settings.consumer_retries,
        backoff_s=settings.consumer_retry_backoff_s,
    )
    consumer.subscribe(
        rt.broker,
        privacy_consumer,
        topics.PRIVACY,
        group_id=settings.privacy_group_id,
        title="alerts-privacy",
        description="person.erasure_requested: erase the contacts it names and confirm",
    )
    return privacy_consumer
