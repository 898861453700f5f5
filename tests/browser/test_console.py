"""Issue 26: the alerts service's operator console in a real (headless, Debian) Chromium.

The alerts service runs for real (uvicorn in a thread) on a fresh database, the test Kafka and a real SMTP server
(Mailpit). The test registers a device (coordinates, a heartbeat with battery and signal), an elder on call, and
raises an Extreme alert; then in the page: signs in with a bearer token, sees the alert with its countdown, the
elder notified by name, the device's battery and signal, the settlement on the SVG map — in English, Latvian
and Russian — acknowledges with a note from the page (the API then shows the alert acknowledged, by the token's
subject, with the note), and sees a second alert raised meanwhile appear without a reload (the live stream).
Nothing is requested from another origin; no script error. Screenshot: test-output/console.png.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from lsg_alerts.entrypoints.app import create_app
from lsg_alerts.settings import AlertsSettings
from lsg_events.partner import signed_headers
from lsg_local.mailpit import Mailpit
from lsg_local.testing import free_ports, unique
from lsg_shared.settings import KafkaSettings
from lsg_testkit.alerts import cap_json, heartbeat_json, settlement_place
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
OUT = Path(__file__).resolve().parents[2] / "test-output"
ADMIN, EDITOR = "console-admin-token", "console-editor-token"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Server:
    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5)
        )
        self.thread = threading.Thread(target=self.server.run, name="alerts-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.server.should_exit = True
        raise AssertionError("the alerts service did not become ready in 90 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=40)


@pytest.fixture
def mailpit(tmp_path: Path) -> Iterator[Mailpit]:
    server = Mailpit(tmp_path / "mailpit").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def alerts(database_url: str, kafka_bootstrap: str, mailpit: Mailpit) -> Iterator[str]:
    from cryptography.fernet import Fernet

    settings = AlertsSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=kafka_bootstrap),
        api_tokens=api_tokens(grant(ADMIN, "ops-admin", ["admin"]), grant(EDITOR, "duty-officer-console", ["editor"])),
        alerts_secrets_key=Fernet.generate_key().decode(),
        partner_group_id=unique("alerts-console"),
        outbox_poll_interval_s=0.5,
        supervision_interval_s=0.5,
        smtp_host="127.0.0.1",
        smtp_port=mailpit.smtp_port,
        notify_interval_s=0.2,
        ack_deadlines_s={"Extreme": 900.0, "Severe": 1800.0},
    )
    with _Server(create_app(settings), free_ports(1)[0]) as server:
        yield server.url


def _post(base: str, path: str, body: dict[str, Any], token: str = ADMIN) -> dict[str, Any]:
    r = httpx.post(f"{base}{path}", json=body, headers=bearer(token), timeout=15)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _scene(base: str) -> dict[str, str]:
    """A partner, an installed device with coordinates and a heartbeat, an elder on call."""
    settlement = unique("S")[-10:]
    partner_id = unique("vendor")
    secret = _post(base, "/v1/partners", {"partner_id": partner_id, "kind": "vendor"})["new_secret"]["secret"]
    device = unique("siren")
    _post(
        base,
        "/v1/devices",
        {
            "device_id": device,
            "kind": "siren",
            "place": settlement_place(settlement),
            "latitude": 56.53,
            "longitude": 27.71,
            "partner_id": partner_id,
            "heartbeat_interval_s": 300,
        },
        EDITOR,
    )
    _post(base, f"/v1/devices/{device}/install", {}, EDITOR)
    beat = heartbeat_json(device, partner_id, battery_pct=87.0, signal_dbm=-71.0)
    r = httpx.post(
        f"{base}/v1/partners/{partner_id}/heartbeats", content=beat, headers=signed_headers(secret, beat), timeout=15
    )
    assert r.status_code == 202, r.text
    person = {
        "name": "Jānis Bērziņš",
        "language": "lv",
        "channels": [{"kind": "email", "address": f"elder-{settlement}@example.lv"}],
    }
    elder = str(_post(base, "/v1/contacts", person)["contact_id"])
    starts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    rota = {"level": "settlement_elder", "area_code": f"S{settlement}", "starts_at": starts, "shift_hours": 24}
    _post(base, "/v1/rotas", {**rota, "members": [elder]})
    return {"settlement": f"S{settlement}", "partner": partner_id, "secret": secret, "device": device, "elder": elder}


def _raise(base: str, scene: dict[str, str], severity: str, headline: str) -> str:
    body = cap_json(identifier=unique("console"), device_id=scene["device"], severity=severity, headline=headline)
    r = httpx.post(
        f"{base}/v1/partners/{scene['partner']}/alerts",
        content=body,
        headers=signed_headers(scene["secret"], body),
        timeout=15,
    )
    assert r.status_code == 202, r.text
    return str(r.json()["alert_id"])


def test_console_in_chromium(alerts: str, chromium_path: str) -> None:
    started = time.monotonic()
    base = alerts
    scene = _scene(base)
    fire = _raise(base, scene, "Extreme", "Ugunsgrēks fermā")

    page_html = httpx.get(f"{base}/console")
    assert page_html.status_code == 200
    assert "script-src 'self'" in page_html.headers["content-security-policy"]

    foreign: list[str] = []
    errors: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-GB")
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(base) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/console?lang=en")

            # sign in with a bearer token, as the API takes it
            expect(page.locator("#sign-in-title")).to_have_text("Sign in")
            page.fill("#token", EDITOR)
            page.click("#sign-in-form button[type=submit]")
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)

            row = page.locator(f'tr[data-alert="{fire}"]')
            expect(row).to_be_visible()
            expect(row).to_contain_text("Ugunsgrēks fermā")
            expect(row.locator(".sev")).to_have_text("Extreme")
            expect(row.locator(f'[data-left="{fire}"]')).to_have_text(
                re.compile(r"^1[0-5]:\d\d$")
            )  # 15 min deadline, counting down
            # the elder was e-mailed (Mailpit accepted it): the page names who, at which level, by which channel
            who = row.locator(f'.who li[data-contact="{scene["elder"]}"]')
            expect(who).to_contain_text("Jānis Bērziņš", timeout=20_000)
            expect(who).to_contain_text("settlement elder · e-mail · sent", timeout=20_000)
            device = page.locator(f'tr[data-device="{scene["device"]}"]')
            expect(device).to_contain_text("87 %")
            expect(device).to_contain_text("-71 dBm")
            expect(device).to_contain_text("online")
            place = page.locator(f'#map g[data-settlement="{scene["settlement"]}"]')
            expect(place).to_be_visible()
            expect(place.locator("text")).to_have_text("Nirza (1)")
            expect(page.locator("#live")).to_have_text("Live: changes appear as they happen.")

            # Latvian
            page.select_option("#lang", "lv")
            page.wait_for_selector("body[data-lang=lv]")
            expect(page.locator("html")).to_have_attribute("lang", "lv")
            expect(page.locator("#alerts-title")).to_have_text("Atvērtās trauksmes")
            expect(row.locator(".sev")).to_have_text("Ārkārtēja")
            expect(row.locator('button[data-action="acknowledge"]')).to_have_text("Apstiprināt")
            expect(who).to_contain_text("ciema vecākais · e-pasts · nosūtīts")
            expect(device).to_contain_text("tiešsaistē")
            expect(page.locator("#map-title")).to_have_text("Apdzīvotās vietas")

            # Russian: the acknowledgement is made from here
            page.select_option("#lang", "ru")
            page.wait_for_selector("body[data-lang=ru]")
            expect(page.locator("#alerts-title")).to_have_text("Открытые тревоги")
            expect(row.locator(".sev")).to_have_text("Чрезвычайная")
            expect(page.locator("#devices-title")).to_have_text("Устройства")
            expect(place.locator("text")).to_have_text("Нирза (1)")
            ack = row.locator('button[data-action="acknowledge"]')
            expect(ack).to_have_text("Подтвердить")
            row.locator(f'input[data-note="{fire}"]').fill("Выехала пожарная команда")
            ack.click()
            expect(row).to_have_attribute("data-state", "acknowledged", timeout=15_000)
            expect(row.locator(".state")).to_have_text("Подтверждена")
            expect(row.locator(".ack-by")).to_contain_text("duty-officer-console")
            expect(row.locator(f'[data-left="{fire}"]')).to_have_count(0)  # no countdown once acknowledged

            detail = httpx.get(f"{base}/v1/alerts/{fire}", headers=bearer(EDITOR), timeout=15).json()
            assert detail["state"] == "acknowledged"
            assert detail["acknowledged_by"] == "duty-officer-console"
            assert detail["next_escalation_at"] is None
            notes = [h["note"] for h in detail["history"] if h["action"] == "acknowledged"]
            assert notes == ["Выехала пожарная команда"]

            # live: an alert raised meanwhile appears without a reload
            flood = _raise(base, scene, "Severe", "Plūdi")
            second = page.locator(f'tr[data-alert="{flood}"]')
            expect(second).to_be_visible(timeout=15_000)
            expect(second.locator(".sev")).to_have_text("Серьёзная")
            expect(place.locator("text")).to_have_text("Нирза (2)", timeout=15_000)

            # English again, then the screenshot
            page.select_option("#lang", "en")
            page.wait_for_selector("body[data-lang=en]")
            expect(page.locator("#alerts-title")).to_have_text("Open alerts")
            expect(row.locator(".state")).to_have_text("Acknowledged")
            OUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT / "console.png"), full_page=True)
            # the phone layout renders too
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.goto(f"{base}/console?lang=lv")
            phone.fill("#token", EDITOR)
            phone.click("#sign-in-form button[type=submit]")
            phone.wait_for_selector("body[data-ready=true]", timeout=30_000)
            expect(phone.locator(f'tr[data-alert="{flood}"]')).to_be_visible()
            phone.screenshot(path=str(OUT / "console-phone.png"), full_page=False)
        finally:
            browser.close()

    assert foreign == [], f"requests to other origins: {foreign}"
    assert errors == [], errors
    print(f"console browser test: {time.monotonic() - started:.1f}s")
