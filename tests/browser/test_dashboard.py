"""The indicators dashboard in a real (headless, Debian) Chromium against the reporting service on a socket.

The service runs for real (uvicorn in a thread) on a fresh database with a private consumer group; the test
publishes a simulated programme (`lsg_testkit.programme.generate`, unique event ids) to the topics, waits
until the API shows the figures, then checks the page: a figure equals the API's, the Russian titles after the
language switch, the drill-down into a municipality, the work plan's timeline (every work package, slippage
marked) and the burn chart per partner (issue 27), and saves a screenshot to test-output/dashboard.png.

The topics are those of a PRIVATE broker of its own (``reporting_kafka``): the service consumes
the registry's topic names, and on the shared broker `make run`'s reporting would consume this test's events.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lsg_local.testing import free_ports, unique
from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.entrypoints.routes import dashboard
from lsg_reporting.settings import ReportingSettings
from lsg_shared.settings import KafkaSettings
from lsg_testkit.programme import generate
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
OUT = Path(__file__).resolve().parents[2] / "test-output"
FIGURE = "SD.RESPONDENTS"
ADMIN = "dash-admin-token"  # to post the budget and two expenditure entries the burn chart draws
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


def _with_dashboard(app: Any) -> Any:
    if not any(getattr(r, "path", None) == "/dashboard" for r in app.routes):
        app.include_router(dashboard.router)
    return app


class _Server:
    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="reporting-uvicorn", daemon=True)

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
        raise AssertionError("the reporting service did not become ready in 90 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=40)


async def _publish(bootstrap: str, events: list[Any]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        futures = []
        for e in events:
            key, value, headers = e.to_kafka()
            futures.append(
                await producer.send(e.topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _consumed(dsn: str, group: str, run: str, count: int, timeout: float = 180) -> None:
    """Wait until the service's consumer has claimed this test's `count` events."""
    import asyncpg

    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        conn = await asyncpg.connect(dsn)
        try:
            seen = await conn.fetchval(
                "SELECT count(*) FROM lsg_inbox WHERE consumer = $1 AND event_id LIKE $2", group, f"{run}-%"
            )
        except asyncpg.UndefinedTableError:
            seen = -1
        finally:
            await conn.close()
        if seen >= count:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{seen} of {count} events consumed after {timeout}s")


def _money(base: str) -> None:
    """A budget and one verified entry per partner, so that the burn chart has lines to draw."""
    admin = bearer(ADMIN)
    lines = [
        {"partner": "LEAD", "category": "staff", "work_package": "WP1", "amount": "102300.00"},
        {"partner": "LPS", "category": "equipment", "work_package": "WP4", "amount": "102300.00"},
    ]
    r = httpx.post(f"{base}/v1/budget/versions", json={"reason": "Grant", "lines": lines}, headers=admin, timeout=10)
    assert r.status_code == 201, r.text
    for entry_id, partner, category, wp, day, amount in (
        ("dash-1", "LEAD", "staff", "WP1", "2025-03-31", "8000.00"),
        ("dash-2", "LPS", "equipment", "WP4", "2025-06-15", "12000.00"),
    ):
        body = {
            "entry_id": entry_id,
            "partner": partner,
            "category": category,
            "work_package": wp,
            "spent_on": day,
            "amount": amount,
            "currency": "EUR",
            "vat": "0.00",
            "invoice_ref": f"INV-{entry_id}",
            "description": {"lv": "Izdevumi", "ru": "Расходы", "en": "Costs"},
            "evidence_ref": f"dms://{entry_id}.pdf",
        }
        r = httpx.post(f"{base}/v1/expenditure", json=body, headers=admin, timeout=10)
        assert r.status_code == 201, r.text


def _api(base: str) -> dict[str, Any]:
    return {i["code"]: i for i in httpx.get(f"{base}/v1/indicators", timeout=10).json()["indicators"]}


@pytest.fixture
def reporting(database_url: str, reporting_kafka: str, reporting_group: str) -> Iterator[tuple[str, str]]:
    group = reporting_group
    settings = ReportingSettings(
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=reporting_kafka),
        consumer_group=group,
        publish_interval_s=1.0,
        outbox_poll_interval_s=0.2,
        api_tokens=api_tokens(grant(ADMIN, "ops", ["admin"])),
    )
    with _Server(_with_dashboard(create_app(settings)), free_ports(1)[0]) as server:
        yield server.url, group


def test_dashboard_in_chromium(
    reporting: tuple[str, str], database_url: str, reporting_kafka: str, chromium_path: str
) -> None:
    started = time.monotonic()
    base, group = reporting
    run = unique("dash")
    programme = generate(seed=11, run=run)
    asyncio.run(_publish(reporting_kafka, programme.events))
    asyncio.run(_consumed(database_url, group, run, programme.unique_events))
    api = _api(base)
    assert api[FIGURE]["actual"] >= 1000
    assert api["CA.DEVICES_INSTALLED"]["actual"] >= 35

    _money(base)

    page_html = httpx.get(f"{base}/dashboard")
    assert page_html.status_code == 200
    assert "script-src 'self'" in page_html.headers["content-security-policy"]

    foreign: list[str] = []
    errors: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(base) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/dashboard?lang=en")
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)

            # a figure on the page equals the API's value for the same indicator
            # (the page must catch up with the API's current figure within a few polls)
            actual = page.get_by_test_id(f"actual-{FIGURE}")
            for _ in range(30):
                expected_value = _api(base)[FIGURE]["actual"]
                shown = int("".join(ch for ch in actual.inner_text() if ch.isdigit()))
                if shown == expected_value and float(actual.get_attribute("data-value") or 0) == expected_value:
                    break
                page.wait_for_timeout(1000)
            assert shown == expected_value, (shown, expected_value)
            title_en = api[FIGURE]["title"]["en"]
            playwright_api.expect(page.get_by_role("button", name=title_en)).to_be_visible()
            # exports one click away
            for href in ("/v1/reports/progress.xlsx", "/v1/reports/progress.csv", "/v1/reports/iati.xml"):
                assert page.locator(f'a[href="{href}"]').count() == 1
            # satisfaction trend and training breakdown are drawn
            assert page.locator("#trend svg polyline").count() >= 1
            assert page.locator("#training tbody tr").count() >= 2

            # the work plan's timeline lists every work package, slippage marked as the API says
            plan = httpx.get(f"{base}/v1/workplan", timeout=10).json()
            page.wait_for_selector("#plan .gantt-wp", timeout=15_000)
            wps = page.locator("#plan .gantt-wp").evaluate_all("els => els.map(e => e.dataset.wp)")
            assert wps == ["WP1", "WP2", "WP3", "WP4"]
            assert page.locator("#plan .gantt-row").count() == sum(len(w["activities"]) for w in plan["work_packages"])
            assert page.locator("#plan .gantt-row.slip").count() == sum(
                a["slipping"] for w in plan["work_packages"] for a in w["activities"]
            )
            assert page.locator("#plan .flags li").count() == len(plan["slippage"])
            # the burn chart: spent vs budget over time per partner
            assert page.locator("#burn svg polyline[data-partner]").count() == 2
            assert page.locator("#burn svg line[data-budget]").count() == 2
            playwright_api.expect(page.locator('#burn tr[data-partner="LPS"]')).to_contain_text("12")

            # language switch: the Russian title of the same indicator (from the API) appears
            page.select_option("#lang", "ru")
            title_ru = api[FIGURE]["title"]["ru"]
            playwright_api.expect(page.get_by_role("button", name=title_ru)).to_be_visible()
            playwright_api.expect(page.locator("html")).to_have_attribute("lang", "ru")
            playwright_api.expect(page.locator("#overview-title")).to_have_text("Обзор программы")
            page.wait_for_selector("body[data-lang=ru]", timeout=15_000)
            playwright_api.expect(page.locator("#plan-title")).to_have_text("План работ")
            playwright_api.expect(page.locator("#burn-title")).to_have_text("Расходы и бюджет")
            playwright_api.expect(page.locator('#plan .gantt-wp[data-wp="WP2"] h3')).to_contain_text(
                "Социальный диалог"
            )
            playwright_api.expect(page.locator('#burn tr[data-partner="LPS"] th')).to_have_text("LPS (Латвия)")

            # drill-down: programme -> country -> municipality -> settlements
            page.select_option("#drill-indicator", FIGURE)
            # the country table of this indicator, not the one drawn before the choice, is the one to click in
            playwright_api.expect(page.locator("#drill caption")).to_contain_text(title_ru, timeout=15_000)
            page.locator('#drill button[data-level="country"][data-key="LV"]').click()
            muni = page.locator('#drill button[data-level="municipality"]').first
            muni.wait_for(timeout=15_000)
            muni_key = muni.get_attribute("data-key")
            muni.click()
            page.locator('#drill [data-level="settlement"]').first.wait_for(timeout=15_000)
            expected = httpx.get(
                f"{base}/v1/indicators/{FIGURE}",
                params={"breakdown": "settlement", "area": f"municipality:{muni_key}"},
            ).json()
            shown_keys = page.locator('#drill [data-level="settlement"]').evaluate_all(
                "els => els.map(e => e.dataset.key)"
            )
            assert shown_keys == [c["key"] for c in expected["cells"]]
            assert page.locator("#crumbs li").count() == 3

            OUT.mkdir(exist_ok=True)
            page.select_option("#lang", "en")
            page.wait_for_selector("body[data-lang=en]", timeout=15_000)
            playwright_api.expect(page.get_by_role("button", name=title_en)).to_be_visible()
            page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
            # the phone layout renders too
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.goto(f"{base}/dashboard?lang=lv")
            phone.wait_for_selector("body[data-ready=true]", timeout=30_000)
            phone.screenshot(path=str(OUT / "dashboard-phone.png"), full_page=False)
        finally:
            browser.close()

    assert foreign == [], f"requests to other origins: {foreign}"
    assert errors == [], errors
    print(f"dashboard browser test: {time.monotonic() - started:.1f}s")
