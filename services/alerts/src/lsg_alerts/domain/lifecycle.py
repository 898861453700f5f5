"""Rules of the alert lifecycle and of device supervision (plain Python, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lsg_events.alerts import DeviceStatus, EscalationLevel

# Who holds an alert: the settlement elder first, then the municipality, then the regional duty service.
LADDER: tuple[EscalationLevel, ...] = (
    EscalationLevel.SETTLEMENT_ELDER,
    EscalationLevel.MUNICIPALITY,
    EscalationLevel.REGIONAL_DUTY_SERVICE,
)


# Severities whose alerts reach people (a page per ladder level); Minor alerts are recorded and shown only.
# The raise statements carry the same rule in SQL (severity <> 'Minor').
def notifies(severity: str) -> bool:
    return severity != "Minor"


class AlertState:
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    OPEN = (RAISED, ACKNOWLEDGED)
    ALL = (RAISED, ACKNOWLEDGED, RESOLVED, CANCELLED)


class LifecycleError(Exception):
    """A transition the alert's or device's state does not allow (answers 409)."""


def next_level(current: EscalationLevel | str | None) -> EscalationLevel:
    """The level an unacknowledged alert goes to; the top level repeats until someone acknowledges."""
    if current is None:
        return LADDER[0]
    index = LADDER.index(EscalationLevel(current))
    return LADDER[min(index + 1, len(LADDER) - 1)]


def ack_deadline(
    severity: str, raised_at: datetime, deadlines_s: Mapping[str, float], *, drill: bool, escalate_drills: bool
) -> datetime | None:
    """When an unacknowledged alert escalates; None for severities (and drills) that never escalate."""
    if drill and not escalate_drills:
        return None
    seconds = deadlines_s.get(severity)
    if seconds is None or seconds <= 0:
        return None
    return raised_at + timedelta(seconds=seconds)


def check_ack(state: str) -> None:
    if state != AlertState.RAISED:
        raise LifecycleError(f"the alert is {state}; only a raised alert can be acknowledged")


def check_resolve(state: str) -> None:
    if state not in AlertState.OPEN:
        raise LifecycleError(f"the alert is {state}; only a raised or acknowledged alert can be resolved")


def check_update(state: str) -> None:
    if state not in AlertState.OPEN:
        raise LifecycleError(f"the referenced alert is {state}; it can no longer be updated or cancelled")


# ---- devices -----------------------------------------------------------------------------------------------
_STAFF_TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    DeviceStatus.PLANNED: frozenset({DeviceStatus.INSTALLED, DeviceStatus.DECOMMISSIONED}),
    DeviceStatus.INSTALLED: frozenset(
        {DeviceStatus.ONLINE, DeviceStatus.OFFLINE, DeviceStatus.MAINTENANCE, DeviceStatus.DECOMMISSIONED}
    ),
    DeviceStatus.ONLINE: frozenset({DeviceStatus.OFFLINE, DeviceStatus.MAINTENANCE, DeviceStatus.DECOMMISSIONED}),
    DeviceStatus.OFFLINE: frozenset({DeviceStatus.ONLINE, DeviceStatus.MAINTENANCE, DeviceStatus.DECOMMISSIONED}),
    DeviceStatus.MAINTENANCE: frozenset({DeviceStatus.ONLINE, DeviceStatus.OFFLINE, DeviceStatus.DECOMMISSIONED}),
    DeviceStatus.DECOMMISSIONED: frozenset(),
}

# Statuses in which heartbeats are expected (and their absence means offline).
SUPERVISED = (DeviceStatus.INSTALLED, DeviceStatus.ONLINE)
# Statuses a heartbeat brings back online.
REVIVED_BY_HEARTBEAT = (DeviceStatus.INSTALLED, DeviceStatus.OFFLINE)


def check_device_transition(current: DeviceStatus | str, target: DeviceStatus | str) -> None:
    cur, tgt = DeviceStatus(current), DeviceStatus(target)
    if tgt not in _STAFF_TRANSITIONS[cur]:
        allowed = ", ".join(sorted(s.value for s in _STAFF_TRANSITIONS[cur])) or "none"
        raise LifecycleError(f"a device that is {cur.value} cannot become {tgt.value} (allowed: {allowed})")


def offline_after(last_seen: datetime, interval_s: int, missed: int) -> datetime:
    """The moment a device that was last seen at `last_seen` counts as offline."""
    return last_seen + timedelta(seconds=interval_s * missed)


@dataclass(frozen=True, slots=True)
class StatusSpan:
    status: str
    start: datetime


def availability(
    changes: Sequence[StatusSpan], period_start: datetime, period_end: datetime
) -> tuple[float | None, float, float]:
    """(share of supervised time online, seconds online, seconds supervised) over the period.

    Supervised time is time in installed/online/offline: planned, maintenance and decommissioned time are
    not held against a device. `changes` are the device's status changes in time order.
    """
    online = supervised = 0.0
    for i, span in enumerate(changes):
        end = changes[i + 1].start if i + 1 < len(changes) else period_end
        start, stop = max(span.start, period_start), min(end, period_end)
        if stop <= start:
            continue
        seconds = (stop - start).total_seconds()
        if span.status in ("installed", "online", "offline"):
            supervised += seconds
            if span.status == "online":
                online += seconds
    return (online / supervised if supervised > 0 else None), online, supervised
