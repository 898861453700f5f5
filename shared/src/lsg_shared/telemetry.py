"""OpenTelemetry and logging set-up from the standard ``OTEL_*`` variables.

Traces and metrics are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; otherwise the
providers still exist (so trace ids appear in logs and travel in Kafka headers) but nothing is exported.
``OTEL_SDK_DISABLED=true`` turns tracing off entirely.

Spans are recorded only while something receives them (an exporter, or a span processor added later):
without one, every span still gets its trace and span ids (logs, the audit log and the ``traceparent`` that
crosses Kafka carry them) but collects no attributes and is never ended into a processor — recording spans
nobody receives cost about a quarter of the alert path's CPU. With a receiver, ``OTEL_TRACES_SAMPLER`` (default
``parentbased_always_on``) decides, as usual. Likewise the OpenTelemetry metrics (the HTTP and Kafka
instrumentations' histograms) are no-ops unless an OTLP metrics endpoint is set: a meter provider without a
reader can never be read. Prometheus (``/metrics``) is separate and always on.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler, SamplingResult, _get_from_env_or_default
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from pythonjsonlogger.json import JsonFormatter

_configured: dict[str, TracerProvider] = {}
_meters: dict[str, metrics.MeterProvider] = {}


class _ObservedSampler(Sampler):
    """The configured sampler once a span processor is attached; until then no span is recorded (ids only)."""

    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate
        self.observed = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = self.delegate if self.observed else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"RecordWhenObserved{{{self.delegate.get_description()}}}"


class _Provider(TracerProvider):
    """A tracer provider that starts recording spans when its first span processor is added."""

    def __init__(self, *, resource: Resource) -> None:
        self.observed_sampler = _ObservedSampler(_get_from_env_or_default())
        super().__init__(resource=resource, sampler=self.observed_sampler)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.observed_sampler.observed = True


def setup_tracing(service_name: str, *, extra_processor: SpanProcessor | None = None) -> TracerProvider:
    """The process's tracer provider (created once, made global)."""
    if "provider" in _configured:
        provider = _configured["provider"]
        if extra_processor is not None:
            provider.add_span_processor(extra_processor)
        return provider
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = _Provider(resource=resource)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true":
        trace.set_tracer_provider(provider)
    _configured["provider"] = provider
    return provider


def setup_metrics(service_name: str) -> metrics.MeterProvider:
    """The process's meter provider: OTLP/HTTP export when an endpoint is set (Prometheus is always on).

    Without an endpoint there is no reader, so nothing could ever read a measurement: a no-op provider then
    (the instrumentations' per-request and per-record histograms cost nothing)."""
    if "meter" in _meters:
        return _meters["meter"]
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")):
        _meters["meter"] = metrics.NoOpMeterProvider()
        return _meters["meter"]
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true":
        metrics.set_meter_provider(provider)
    _meters["meter"] = provider
    return provider


class _TraceContextFilter(logging.Filter):
    """Adds the current trace and span ids to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        return True


def setup_logging(service_name: str, *, fmt: str = "text", level: str = "INFO") -> None:
    """One line per event: JSON in production (``LSG_LOG_FORMAT=json``), readable text otherwise."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_TraceContextFilter())
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter(
            "{asctime}{levelname}{name}{message}{trace_id}{span_id}",
            style="{",
            rename_fields={"levelname": "level", "asctime": "time"},
            static_fields={"service": service_name},
        )
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s [trace=%(trace_id)s]")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "aiokafka.consumer.group_coordinator"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_extra(**fields: Any) -> dict[str, Any]:
    return {"extra": fields}
