"""What a partner system does: sign with its HMAC secret, write CAP 1.2 (JSON form), send heartbeats.

Signing, headers, CAP structure and heartbeat bodies come from the integrator client package
(``lsg_events.partner``), what a real partner uses: the simulator is a stranger that only knows the public doors
and their published contract, never the alerts service's code. What is the demo's own is here: a CAP alert from
the flat fields of its content, with the response type a dispatcher would choose.
"""

from __future__ import annotations

from typing import Any

from lsg_events import partner


def response_type(category: str, severity: str) -> list[str]:
    if severity in ("Moderate", "Minor"):
        return ["Prepare"]
    return ["Shelter"] if category == "Met" else ["Evacuate"] if category == "Fire" else ["Monitor"]


def cap_alert(
    *,
    identifier: str,
    sender: str,
    sent: str,
    device_id: str | None,
    category: str,
    event: str,
    urgency: str,
    severity: str,
    certainty: str,
    headline: str,
    description: str,
    instruction: str,
    area_desc: str,
    language: str,
    status: str = "Actual",
    msg_type: str = "Alert",
    references: str | None = None,
    note: str | None = None,
    expires: str | None = None,
) -> dict[str, Any]:
    info = partner.cap_info(
        language=language,
        category=category,
        event=event,
        response_type=response_type(category, severity),
        urgency=urgency,
        severity=severity,
        certainty=certainty,
        expires=expires,
        headline=headline,
        description=description,
        instruction=instruction,
        device_id=device_id,
        area_desc=area_desc,
    )
    return partner.cap_alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=msg_type,
        note=note,
        references=references,
        info=info,
    )
