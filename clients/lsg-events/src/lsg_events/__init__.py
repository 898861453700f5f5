"""The event catalogue: every event type the suite emits, by its CloudEvents `type`."""

from __future__ import annotations

from lsg_events.alerts import (
    AlertAcknowledged,
    AlertCancelled,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    DeviceHeartbeat,
    DeviceInstalled,
    DeviceStatusChanged,
    NotificationFailed,
    NotificationSent,
)
from lsg_events.base import EventData
from lsg_events.envelope import CloudEvent, PoisonMessage, from_kafka
from lsg_events.privacy import PersonErasureCompleted, PersonErasureRequested
from lsg_events.reporting import (
    DeliverableRecorded,
    ExpenditureRecorded,
    ExpenditureVerified,
    IndicatorUpdated,
    ReportApproved,
    ReportSubmitted,
)
from lsg_events.surveys import (
    ConsultationHeld,
    FocusGroupHeld,
    ForumHeld,
    SurveyCompleted,
    SurveyOpened,
    SurveyResponseCorrected,
    SurveyResponseRecorded,
)
from lsg_events.training import ActivityHeld, TrainingAttended, TrainingCompleted, TrainingSessionHeld

ALL_EVENTS: tuple[type[EventData], ...] = (
    SurveyOpened,
    SurveyResponseRecorded,
    SurveyResponseCorrected,
    SurveyCompleted,
    FocusGroupHeld,
    ConsultationHeld,
    ForumHeld,
    TrainingSessionHeld,
    TrainingAttended,
    TrainingCompleted,
    ActivityHeld,
    DeviceInstalled,
    DeviceStatusChanged,
    DeviceHeartbeat,
    AlertRaised,
    AlertAcknowledged,
    AlertEscalated,
    AlertResolved,
    AlertCancelled,
    NotificationSent,
    NotificationFailed,
    DeliverableRecorded,
    IndicatorUpdated,
    ExpenditureRecorded,
    ExpenditureVerified,
    ReportSubmitted,
    ReportApproved,
    PersonErasureRequested,
    PersonErasureCompleted,
)
EVENT_TYPES: dict[str, type[EventData]] = {e.event_type: e for e in ALL_EVENTS}

__all__ = [
    "ALL_EVENTS",
    "EVENT_TYPES",
    "ActivityHeld",
    "AlertAcknowledged",
    "AlertCancelled",
    "AlertEscalated",
    "AlertRaised",
    "AlertResolved",
    "CloudEvent",
    "ConsultationHeld",
    "DeliverableRecorded",
    "DeviceHeartbeat",
    "DeviceInstalled",
    "DeviceStatusChanged",
    "EventData",
    "ExpenditureRecorded",
    "ExpenditureVerified",
    "FocusGroupHeld",
    "ForumHeld",
    "IndicatorUpdated",
    "NotificationFailed",
    "NotificationSent",
    "PersonErasureCompleted",
    "PersonErasureRequested",
    "PoisonMessage",
    "ReportApproved",
    "ReportSubmitted",
    "SurveyCompleted",
    "SurveyOpened",
    "SurveyResponseCorrected",
    "SurveyResponseRecorded",
    "TrainingAttended",
    "TrainingCompleted",
    "TrainingSessionHeld",
    "from_kafka",
]
