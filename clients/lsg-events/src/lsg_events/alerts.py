"""Emergency communication stream: the 35 device installations, their status, and the alert lifecycle.

Vocabulary from OASIS CAP 1.2 (status, msgType, category, urgency, severity, certainty).
`device.heartbeat` is partner input (published by partner systems on the partner topic); the others are
emitted by the alerts service.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from lsg_events import topics
from lsg_events.base import EventData
from lsg_events.geography import Place

CapStatus = Literal["Actual", "Exercise", "System", "Test", "Draft"]
CapMsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
CapCategory = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"
]
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapSeverity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


class DeviceKind(StrEnum):
    SIREN = "siren"
    RADIO = "radio"
    SATELLITE_MESSENGER = "satellite_messenger"
    GSM_ALARM_PANEL = "gsm_alarm_panel"
    PUBLIC_ADDRESS = "public_address"
    OTHER = "other"


class DeviceStatus(StrEnum):
    PLANNED = "planned"
    INSTALLED = "installed"
    ONLINE = "online"
    OFFLINE = "offline"
    MAINTENANCE = "maintenance"
    DECOMMISSIONED = "decommissioned"


class EscalationLevel(StrEnum):
    SETTLEMENT_ELDER = "settlement_elder"
    MUNICIPALITY = "municipality"
    REGIONAL_DUTY_SERVICE = "regional_duty_service"


class NotificationChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeviceInstalled(EventData):
    event_type: ClassVar[str] = "lv.lsg.device.installed.v1"
    topic: ClassVar[str] = topics.ALERTS
    key_field: ClassVar[str] = "device_id"
    description: ClassVar[str] = "An emergency-communication solution was installed (the '35 solutions' indicator)."

    device_id: str
    kind: DeviceKind
    place: Place
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    partner_id: str
    installed_at: datetime
    heartbeat_interval_s: int = Field(gt=0)


class DeviceStatusChanged(EventData):
    event_type: ClassVar[str] = "lv.lsg.device.status_changed.v1"
    topic: ClassVar[str] = topics.ALERTS
    key_field: ClassVar[str] = "device_id"
    description: ClassVar[str] = "A device changed status (online, offline, maintenance, decommissioned...)."

    device_id: str
    place: Place
    previous_status: DeviceStatus | None = None
    status: DeviceStatus
    reason: str | None = None
    changed_at: datetime


class DeviceHeartbeat(EventData):
    event_type: ClassVar[str] = "lv.lsg.device.heartbeat.v1"
    topic: ClassVar[str] = topics.PARTNER_INPUT
    key_field: ClassVar[str] = "device_id"
    description: ClassVar[str] = "Partner input: a device reports it is alive, with battery, signal and tamper."

    device_id: str
    partner_id: str
    sent_at: datetime
    battery_pct: float | None = Field(None, ge=0, le=100)
    signal_dbm: float | None = None
    tamper: bool = False


class _AlertEvent(EventData):
    topic: ClassVar[str] = topics.ALERTS
    key_field: ClassVar[str] = "alert_id"

    alert_id: str
    drill: bool = Field(False, description="True for CAP status Test or Exercise: kept out of live views")


class AlertRaised(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.alert.raised.v1"
    description: ClassVar[str] = "An alert from a partner (CAP 1.2) was accepted."

    identifier: str = Field(description="CAP identifier")
    sender: str
    sent: datetime
    status: CapStatus
    msg_type: CapMsgType
    category: CapCategory
    event: str
    urgency: CapUrgency
    severity: CapSeverity
    certainty: CapCertainty
    headline: str | None = None
    area_desc: str
    place: Place
    device_id: str | None = None
    partner_id: str
    received_at: datetime
    ack_deadline: datetime | None = None
    expires: datetime | None = None
    kind: str | None = Field(
        None, description="'cap' from a partner; 'device_offline' or 'low_battery' raised by device supervision"
    )
    level: EscalationLevel | None = Field(None, description="Who holds the alert now (the first escalation level)")
    cap_version: str | None = Field(
        None,
        description="The CAP version the partner's document arrived in ('1.2', '1.1' or '1.0'; the suite holds it "
        "as CAP 1.2); null for alerts the suite raised itself",
    )


class AlertAcknowledged(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.alert.acknowledged.v1"
    description: ClassVar[str] = "Someone acknowledged an alert."

    acknowledged_by: str = Field(description="Subject id of the person (not a name)")
    acknowledged_at: datetime
    raised_at: datetime
    severity: CapSeverity
    place: Place
    within_deadline: bool
    note: str | None = None
    contact_id: str | None = Field(
        None, description="The contact who acknowledged from a notification's link (a contact id, never a name)"
    )
    channel: NotificationChannel | None = Field(
        None, description="The channel whose message carried the link; null when acknowledged through the API"
    )


class AlertEscalated(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.alert.escalated.v1"
    description: ClassVar[str] = "An alert was not acknowledged in time and went to the next level."

    level: EscalationLevel
    escalated_at: datetime
    severity: CapSeverity
    place: Place
    escalation_count: int | None = Field(None, ge=1, description="1 for the first escalation, 2 for the next...")
    previous_level: EscalationLevel | None = None


class AlertResolved(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.alert.resolved.v1"
    description: ClassVar[str] = "An alert was resolved."

    resolved_by: str
    resolved_at: datetime
    place: Place
    note: str | None = None


class AlertCancelled(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.alert.cancelled.v1"
    description: ClassVar[str] = "The sender cancelled an alert (CAP msgType Cancel)."

    cancelled_at: datetime
    place: Place
    reason: str | None = None


class NotificationSent(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.notification.sent.v1"
    description: ClassVar[str] = (
        "A message about an alert was accepted by a channel (an SMTP relay, a webhook) for a contact on the "
        "escalation ladder. Carries the contact's id, never the address."
    )

    notification_id: str
    contact_id: str = Field(description="The contact's id (names and addresses stay encrypted in the service)")
    channel: NotificationChannel
    level: EscalationLevel
    attempt: int = Field(ge=1, description="The attempt on this channel that succeeded (1 = first try)")
    sent_at: datetime


class NotificationDelivered(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.notification.delivered.v1"
    description: ClassVar[str] = (
        "Evidence that a message about an alert reached its recipient, once per notification: for a webhook the "
        "dispatch system's own 2xx (it is the recipient); for e-mail the contact opened the message's link, "
        "replied with its code or acknowledged (an SMTP relay's 250 is `notification.sent`, not delivery: the "
        "relay may still bounce, and mailbox delivery is not observable). Carries the contact's id, never the "
        "address."
    )

    notification_id: str
    contact_id: str = Field(description="The contact's id (names and addresses stay encrypted in the service)")
    channel: NotificationChannel
    level: EscalationLevel
    evidence: Literal["receiver_accepted", "link_opened", "reply_code", "acknowledged"] = Field(
        description="What shows delivery: the receiver's 2xx (webhook), the link opened, the reply code, the "
        "acknowledgement"
    )
    delivered_at: datetime


class NotificationFailed(_AlertEvent):
    event_type: ClassVar[str] = "lv.lsg.notification.failed.v1"
    description: ClassVar[str] = (
        "An attempt to send a message about an alert failed; `next` says what the service does about it: retry "
        "the channel later, try the contact's next channel, the next person on call, or give up (nobody left)."
    )

    notification_id: str
    contact_id: str = Field(description="The contact's id (names and addresses stay encrypted in the service)")
    channel: NotificationChannel
    level: EscalationLevel
    attempt: int = Field(ge=1)
    failed_at: datetime
    reason: str = Field(description="A machine code: 'connection', 'refused', 'timeout', 'rejected', 'no_channel'")
    next: Literal["retry", "next_channel", "next_contact", "gave_up"]
    retry_at: datetime | None = None
