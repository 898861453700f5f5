"""A partner sends one signed CAP 1.2 alert over HTTP (standard library only). See docs/partners.md.

Env: LSG_ALERTS_URL, LSG_PARTNER_ID, LSG_PARTNER_SECRET, LSG_DEVICE_ID; LSG_CAP_STATUS (default ``Test``:
the sandbox, never pages anyone; ``Actual`` once you are live). Prints the HTTP status and the answer.
"""

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
import uuid

if __name__ == "__main__":
    env = os.environ
    sent = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())  # CAP wants "+00:00", never "Z"
    info = {"category": ["Safety"], "event": "Siren test", "urgency": "Immediate", "severity": "Severe",
            "certainty": "Observed", "headline": "Test alert", "area": [{"areaDesc": "Test area"}],
            "parameter": [{"valueName": "deviceId", "value": env["LSG_DEVICE_ID"]}]}  # fmt: skip
    alert = {"identifier": env.get("LSG_CAP_IDENTIFIER", f"test-{uuid.uuid4()}"), "sender": "ops@partner.example",
             "sent": sent, "status": env.get("LSG_CAP_STATUS", "Test"), "msgType": "Alert", "scope": "Public",
             "info": [info]}  # fmt: skip
    body = json.dumps({"alert": alert}).encode()
    timestamp = str(int(time.time()))
    mac = hmac.new(env["LSG_PARTNER_SECRET"].encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    request = urllib.request.Request(  # noqa: S310 (the URL is the operator's alerts service)
        f"{env['LSG_ALERTS_URL']}/v1/partners/{env['LSG_PARTNER_ID']}/alerts", data=body, method="POST",
        headers={"Content-Type": "application/cap+json", "X-LSG-Timestamp": timestamp,
                 "X-LSG-Signature": f"v1={mac.hexdigest()}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            print(response.status, response.read().decode())  # 202 {"outcome": "raised", "alert_id": ...}
    except urllib.error.HTTPError as error:  # application/problem+json: type, title, errors[].field
        print(error.code, error.read().decode())
        raise SystemExit(1) from None
