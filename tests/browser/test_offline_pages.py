"""Every page a service serves works without the internet: ``/docs`` (Swagger UI), ``/asyncapi`` and the
dashboard, in a real (headless, Debian) Chromium whose every request to a host other than 127.0.0.1 is blocked.

Many municipal networks (and this machine) cannot reach a public CDN. The services run for real (uvicorn in a
thread, a fresh database each); Kafka is deliberately unreachable (the pages need none of it, and the services
must keep serving while it is away). A page passes when it renders its content and asked for nothing off-host.
Screenshots of the AsyncAPI page and Swagger UI go to test-output/.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lsg_local.testing import free_ports
from lsg_shared.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
OUT = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


class _Server:
    """A service on a socket (uvicorn in a thread), up once it answers liveness (Kafka is away on purpose)."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="offline-uvicorn", daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/live", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.server.should_exit = True
        raise AssertionError("the service did not answer /health/live in 60 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _surveys(db: str, kafka: KafkaSettings) -> Any:
    from lsg_surveys.entrypoints.app import create_app
    from lsg_surveys.settings import SurveysSettings

    return create_app(SurveysSettings(database_url=db, kafka=kafka))


def _training(db: str, kafka: KafkaSettings) -> Any:
    from lsg_training.entrypoints.app import create_app
    from lsg_training.settings import TrainingSettings

    return create_app(TrainingSettings(database_url=db, kafka=kafka))


def _alerts(db: str, kafka: KafkaSettings) -> Any:
    from lsg_alerts.entrypoints.app import create_app
    from lsg_alerts.settings import AlertsSettings

    return create_app(AlertsSettings(database_url=db, kafka=kafka))


def _reporting(db: str, kafka: KafkaSettings) -> Any:
    from lsg_reporting.entrypoints.app import create_app
    from lsg_reporting.settings import ReportingSettings

    return create_app(ReportingSettings(database_url=db, kafka=kafka, consume=False, publish_figures=False))


SERVICES: dict[str, Callable[[str, KafkaSettings], Any]] = {
    "surveys": _surveys,
    "training": _training,
    "alerts": _alerts,
    "reporting": _reporting,
}


@pytest.fixture
def offline_browser(chromium_path: str) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page that blocks (and records) every request not addressed to 127.0.0.1."""
    blocked: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def gate(route: Any) -> None:
            host = urlsplit(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort("blockedbyclient")

        page.route("**/*", gate)
        try:
            yield page, blocked
        finally:
            browser.close()


@pytest.mark.parametrize("service", list(SERVICES))
def test_pages_load_fully_with_the_internet_blocked(
    service: str, database_url: str, offline_browser: tuple[Any, list[str]]
) -> None:
    page, blocked = offline_browser
    # Port 9 (discard) on loopback: nothing listens, so the service runs without Kafka, as during an outage.
    kafka = KafkaSettings(bootstrap="127.0.0.1:9", create_topics=False)
    app = SERVICES[service](database_url, kafka)
    with _Server(app, free_ports(1)[0]) as server:
        page.goto(f"{server.url}/docs", wait_until="networkidle")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert page.locator(".opblock").count() > 3, "Swagger UI rendered no operations"
        if service == "alerts":
            OUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT / "docs-swagger-offline.png"))

        page.goto(f"{server.url}/asyncapi", wait_until="networkidle")
        assert page.locator("h2").count() >= 1, "the AsyncAPI page shows no channel"
        assert page.locator("h4:has-text('Payload') + table tr").count() > 1, "no payload fields rendered"
        if service == "alerts":
            page.screenshot(path=str(OUT / "asyncapi-offline.png"), full_page=False)

        if service == "reporting":
            page.goto(f"{server.url}/dashboard", wait_until="networkidle")
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert blocked == [], f"{service} pages asked for off-host resources: {blocked}"
