"""The partner toolkit in the client package (``lsg_events.partner``) speaks exactly what the alerts doors accept:
the same signature bytes the service verifies, the same CAP namespace and device parameter, documents that parse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsg_alerts.domain import cap, signing
from lsg_events import partner

pytestmark = pytest.mark.unit


@given(secret=st.text(min_size=1, max_size=40), timestamp=st.integers(0, 10**11), body=st.binary(max_size=300))
def test_the_client_signature_is_the_one_the_service_verifies(secret: str, timestamp: int, body: bytes) -> None:
    headers = partner.signed_headers(secret, body, timestamp=timestamp)
    assert headers["x-lsg-signature"] == signing.sign(secret, str(timestamp), body)
    signing.verify(
        secrets=["another-secret", secret],
        timestamp_header=headers["x-lsg-timestamp"],
        signature_header=headers["x-lsg-signature"],
        body=body,
        reference_time=timestamp,
        tolerance_s=300,
    )
    record = dict(partner.kafka_headers("p-1", secret, body, timestamp=timestamp))
    assert record["x-lsg-signature"].decode() == headers["x-lsg-signature"]
    with pytest.raises(signing.SignatureProblem):
        signing.verify(
            secrets=[secret + "x"],
            timestamp_header=headers["x-lsg-timestamp"],
            signature_header=headers["x-lsg-signature"],
            body=body,
            reference_time=timestamp,
            tolerance_s=300,
        )


def test_the_client_cap_constants_and_documents_are_the_service_s() -> None:
    assert partner.CAP_NS == cap.CAP_NS
    assert partner.DEVICE_PARAMETER == cap.DEVICE_PARAMETER
    doc = partner.cap_alert(
        identifier="A-1",
        sender="vendor@example.org",
        note="a test",
        info=partner.cap_info(
            language="lv-LV",
            category="Fire",
            event="Fire alarm",
            response_type=["Evacuate"],
            urgency="Immediate",
            severity="Extreme",
            certainty="Observed",
            headline="Ugunsgrēks & dūmi",
            description="<b>not markup</b>",
            instruction="Leave",
            area_desc="Nirza",
            device_id="dev-1",
        ),
    )
    for body, media in ((partner.cap_json(doc), "application/cap+json"), (partner.cap_xml(doc), "application/cap+xml")):
        assert cap.validate(body, media) == []
        parsed = cap.parse(body, media)
        assert parsed.identifier == "A-1"
        assert parsed.info[0].parameter(cap.DEVICE_PARAMETER) == "dev-1"
