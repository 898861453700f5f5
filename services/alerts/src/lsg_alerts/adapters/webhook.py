"""A signed webhook for dispatch systems: the partner door's HMAC scheme in the other direction.

``POST <url>`` with a JSON body (the alert, the level, the message in the contact's language and its
acknowledgement link), ``X-LSG-Timestamp: <unix seconds>`` and ``X-LSG-Signature: v1=<hex HMAC-SHA256 of
timestamp + "." + raw body>`` under the secret registered with the channel; a 2xx answer means accepted.
Sent with the standard library in a worker thread (no extra dependency); ``send`` answers ``None`` when accepted,
else a short machine code.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

from lsg_alerts.domain import signing
from lsg_alerts.settings import AlertsSettings

MEDIA_TYPE = "application/json"


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str | None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http/https only)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (the scheme is validated)
            return None if 200 <= answer.status < 300 else "rejected"
    except urllib.error.HTTPError as exc:
        return "rejected" if 400 <= exc.code < 500 and exc.code not in (408, 429) else "deferred"
    except TimeoutError:
        return "timeout"
    except (urllib.error.URLError, OSError):
        return "connection"


class WebhookChannel:
    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return "WebhookChannel()"

    async def send(
        self, spec: dict[str, str], subject: str, text: str, language: str, payload: dict[str, Any]
    ) -> str | None:
        url = spec.get("url", "")
        if not url.startswith(("https://", "http://")):
            return "no_channel"
        body = json.dumps({**payload, "subject": subject, "text": text, "language": language}).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": MEDIA_TYPE,
            "User-Agent": "lsg-alerts",
            "X-LSG-Timestamp": timestamp,
            "X-LSG-Signature": signing.sign(spec.get("secret", ""), timestamp, body),
        }
        return await asyncio.to_thread(_post, url, body, headers, self.settings.smtp_timeout_s)
