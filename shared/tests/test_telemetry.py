"""Spans are recorded only when something receives them; the outbox row carries the trace either way."""

from __future__ import annotations

import json

import pytest
from opentelemetry import context as otel_context
from opentelemetry import metrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lsg_events import CloudEvent
from lsg_events.examples import EXAMPLES
from lsg_shared import outbox, telemetry

pytestmark = pytest.mark.unit


def test_without_a_processor_spans_have_ids_but_are_not_recorded() -> None:
    provider = telemetry._Provider(resource=Resource.create({"service.name": "t"}))
    with provider.get_tracer("t").start_as_current_span("quiet") as span:
        ctx = span.get_span_context()
        assert ctx.is_valid  # trace ids still reach logs, the audit log and Kafka headers
        assert not span.is_recording()
        row = outbox.encode(CloudEvent(data=EXAMPLES[next(iter(EXAMPLES))], source="/lsg/test"))[0]
    headers = json.loads(row[5])
    assert headers["traceparent"].split("-")[1] == f"{ctx.trace_id:032x}"


def test_a_processor_added_later_receives_the_spans_from_then_on() -> None:
    provider = telemetry._Provider(resource=Resource.create({"service.name": "t"}))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("before"):
        pass
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    token = otel_context.attach(otel_context.Context())  # a fresh root, whatever the test runner holds
    try:
        with tracer.start_as_current_span("after") as span:
            assert span.is_recording()
            with tracer.start_as_current_span("child"):
                pass
    finally:
        otel_context.detach(token)
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["after", "child"]
    assert "RecordWhenObserved" in provider.sampler.get_description()


def test_no_otlp_endpoint_means_no_op_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", raising=False)
    monkeypatch.setattr(telemetry, "_meters", {})
    assert isinstance(telemetry.setup_metrics("t"), metrics.NoOpMeterProvider)
