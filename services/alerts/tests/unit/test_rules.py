"""Signatures, rate limit, escalation ladder, device transitions, availability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lsg_alerts.domain import lifecycle, signing
from lsg_events.alerts import EscalationLevel

pytestmark = pytest.mark.unit

NOW = 1_700_000_000


def verify(secrets, ts, sig, body=b"{}", now=NOW) -> None:
    signing.verify(
        secrets=secrets, timestamp_header=ts, signature_header=sig, body=body, reference_time=now, tolerance_s=300
    )


def test_signature_round_trip_and_rotation() -> None:
    sig = signing.sign("new", str(NOW), b"{}")
    verify(["old", "new"], str(NOW), sig)
    verify(["new"], str(NOW), f"v1=deadbeef,{sig}")


@pytest.mark.parametrize(
    ("ts", "sig", "field"),
    [
        (None, "v1=00", "X-LSG-Timestamp"),
        ("abc", "v1=00", "X-LSG-Timestamp"),
        (str(NOW), None, "X-LSG-Signature"),
        (str(NOW), "sha1=00", "X-LSG-Signature"),
        (str(NOW), "v1=00", "X-LSG-Signature"),
        (str(NOW - 301), "v1=00", "X-LSG-Timestamp"),
        (str(NOW), "v1=ünï", "X-LSG-Signature"),
    ],
)
def test_signature_problems_name_the_header(ts, sig, field) -> None:
    with pytest.raises(signing.SignatureProblem) as info:
        verify(["secret"], ts, sig)
    assert info.value.field == field


def test_signature_covers_the_body() -> None:
    sig = signing.sign("s", str(NOW), b'{"a":1}')
    with pytest.raises(signing.SignatureProblem):
        verify(["s"], str(NOW), sig, body=b'{"a":2}')


def test_no_secret_no_entry() -> None:
    with pytest.raises(signing.SignatureProblem):
        verify([], str(NOW), signing.sign("s", str(NOW), b"{}"))


def test_ladder_repeats_at_the_top() -> None:
    assert lifecycle.next_level(EscalationLevel.SETTLEMENT_ELDER) == EscalationLevel.MUNICIPALITY
    assert lifecycle.next_level("municipality") == EscalationLevel.REGIONAL_DUTY_SERVICE
    assert lifecycle.next_level("regional_duty_service") == EscalationLevel.REGIONAL_DUTY_SERVICE


def test_deadlines_by_severity() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    table = {"Extreme": 120, "Severe": 300, "Moderate": 1800}
    assert lifecycle.ack_deadline("Extreme", t0, table, drill=False, escalate_drills=False) == t0 + timedelta(minutes=2)
    assert lifecycle.ack_deadline("Minor", t0, table, drill=False, escalate_drills=False) is None
    assert lifecycle.ack_deadline("Extreme", t0, table, drill=True, escalate_drills=False) is None


def test_device_transitions() -> None:
    lifecycle.check_device_transition("planned", "installed")
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.check_device_transition("decommissioned", "online")
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.check_device_transition("planned", "online")


def test_availability() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    spans = [
        lifecycle.StatusSpan("planned", t0),
        lifecycle.StatusSpan("online", t0 + timedelta(hours=1)),
        lifecycle.StatusSpan("offline", t0 + timedelta(hours=4)),
        lifecycle.StatusSpan("maintenance", t0 + timedelta(hours=5)),
    ]
    ratio, online, supervised = lifecycle.availability(spans, t0, t0 + timedelta(hours=10))
    assert online == 3 * 3600
    assert supervised == 4 * 3600
    assert ratio == pytest.approx(0.75)
    assert lifecycle.availability([], t0, t0 + timedelta(hours=1))[0] is None
