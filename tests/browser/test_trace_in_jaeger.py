"""A request's trace crosses Kafka, seen where a newcomer would look: in Jaeger.

Jaeger (built from the Go module proxy, deploy/observe/install-jaeger.sh) receives OTLP from two real services
on a private Kafka and PostgreSQL: one HTTP request opens a survey in the surveys service; its trace in Jaeger's
API holds the request's server span, the outbox relay's producer span, and the reporting service's consumer span
for that event. The test also draws the trace as a waterfall in Chromium and saves test-output/trace.png
(Jaeger's own UI is not in its Go module: it is built from jaeger-ui with npm).
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from lsg_local.observe import JaegerProcess
from lsg_local.testing import (
    ServiceProcess,
    create_database,
    free_ports,
    private_infrastructure,
    service_base_env,
    unique,
)
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
ADMIN = "observe-admin-token"


def _surveys_support() -> Any:
    spec = importlib.util.spec_from_file_location(
        "observe_surveys_support", ROOT / "services/surveys/tests/surveys_support.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _kind(span: dict[str, Any]) -> str:
    return next((str(t["value"]) for t in span.get("tags", []) if t["key"] == "span.kind"), "")


def _service(trace: dict[str, Any], span: dict[str, Any]) -> str:
    return str(trace["processes"][span["processID"]]["serviceName"])


def _waterfall_html(trace: dict[str, Any]) -> str:
    spans = sorted(trace["spans"], key=lambda s: s["startTime"])
    start = spans[0]["startTime"]
    end = max(s["startTime"] + s["duration"] for s in spans)
    width = max(end - start, 1)
    colours = {"surveys": "#2e7d32", "reporting": "#1565c0"}
    rows = []
    for s in spans:
        left = 100 * (s["startTime"] - start) / width
        bar = max(100 * s["duration"] / width, 0.4)
        service = _service(trace, s)
        rows.append(
            f"<div class=row><span class=label>{service} · {_kind(s)} · {s['operationName']}</span>"
            f"<span class=track><span class=bar style='left:{left:.2f}%;width:{bar:.2f}%;"
            f"background:{colours.get(service, '#777')}'></span></span>"
            f"<span class=ms>{s['duration'] / 1000:.1f} ms</span></div>"
        )
    return (
        "<!doctype html><meta charset=utf-8><style>body{font:14px system-ui;margin:24px}"
        ".row{display:flex;align-items:center;margin:4px 0}.label{width:600px;font-family:monospace;white-space:nowrap}"
        ".track{position:relative;flex:1;height:14px;background:#f0f0f0}.bar{position:absolute;height:14px}"
        ".ms{width:90px;text-align:right}</style>"
        f"<h2>Trace {trace['traceID']} from Jaeger's API: one HTTP request, across Kafka</h2>" + "".join(rows)
    )


async def _wait_for_trace(jaeger: JaegerProcess, campaign_id: str, timeout: float = 90) -> dict[str, Any]:
    """The trace of the request that opened `campaign_id`, once it holds the reporting consumer's span."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        for trace in await asyncio.to_thread(jaeger.traces, "surveys", 100):
            names = [s["operationName"] for s in trace["spans"]]
            if not any(campaign_id in n or n.endswith("/open") for n in names):
                continue
            seen = [f"{_service(trace, s)}:{_kind(s)}:{s['operationName']}" for s in trace["spans"]]
            if any(_service(trace, s) == "reporting" and _kind(s) == "consumer" for s in trace["spans"]):
                return trace
        await asyncio.sleep(1)
    raise AssertionError(f"no trace of the request held a reporting consumer span in {timeout} s; last: {seen}")


async def test_one_requests_trace_holds_the_producer_and_another_services_consumer(
    tmp_path: Path, chromium_path: str
) -> None:
    ports = free_ports(5)
    jaeger = JaegerProcess(*ports, log_path=tmp_path / "jaeger.log")
    await asyncio.to_thread(jaeger.start, 120)
    try:
        with private_infrastructure(tmp_path / "infra") as private:
            otel = {
                "OTEL_SDK_DISABLED": "false",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": jaeger.otlp_traces_endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "200",
            }
            common = {
                "LSG_KAFKA_BOOTSTRAP": private.kafka_bootstrap,
                "LSG_KAFKA_TOPIC_REPLICATION_FACTOR": "1",
                "LSG_OUTBOX_POLL_INTERVAL_S": "0.2",
                "LSG_LOG_LEVEL": "WARNING",
                "LSG_API_TOKENS": api_tokens(grant(ADMIN, "observe-admin", ["admin"])),
            }
            started: list[ServiceProcess] = []
            try:
                for name, extra in (("reporting", {"LSG_CONSUMER_GROUP": unique("reporting")}), ("surveys", {})):
                    dsn = await create_database(private.admin_dsn)
                    env = service_base_env(**common, **otel, **extra, LSG_DATABASE_URL=dsn)
                    service = ServiceProcess(name, env, tmp_path / f"{name}.log", free_ports(1)[0]).start()
                    started.append(service)
                    await service.wait_ready(180)
                surveys = started[1]
                support = _surveys_support()
                campaign_id = unique("TRACE")
                async with httpx.AsyncClient(base_url=surveys.url, headers=bearer(ADMIN), timeout=30) as http:
                    created = await http.post("/v1/campaigns", json=support.survey_body(campaign_id))
                    assert created.status_code == 201, created.text
                    opened = await http.post(f"/v1/campaigns/{campaign_id}/open")
                    assert opened.status_code == 200, opened.text
                trace = await _wait_for_trace(jaeger, campaign_id)
            finally:
                for service in started:
                    service.stop()
    finally:
        jaeger.stop()

    spans = trace["spans"]
    kinds = {(_service(trace, s), _kind(s)) for s in spans}
    assert ("surveys", "server") in kinds, f"the request's server span is missing: {kinds}"
    assert ("surveys", "producer") in kinds, f"the outbox relay's producer span is missing: {kinds}"
    assert ("reporting", "consumer") in kinds, f"the reporting consumer's span is missing: {kinds}"
    assert len({s["traceID"] for s in spans}) == 1

    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    page_file = tmp_path / "trace.html"
    page_file.write_text(_waterfall_html(trace), encoding="utf-8")

    def shoot() -> None:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 120 + 26 * len(spans)})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(OUT / "trace.png"), full_page=True)
            browser.close()

    await asyncio.to_thread(shoot)
