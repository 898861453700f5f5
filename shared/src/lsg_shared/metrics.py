"""Prometheus metrics shared by every service (one process-wide registry, exposed on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

registry: CollectorRegistry = REGISTRY

EVENTS_CONSUMED = Counter(
    "lsg_events_consumed",
    "Events handled by a consumer, by outcome (processed, duplicate, dead_lettered)",
    ["consumer", "event_type", "outcome"],
)
EVENTS_RETRIED = Counter("lsg_events_retried", "Handler retries after an error", ["consumer"])
DEAD_LETTERS = Counter("lsg_dead_letters", "Records sent to a dead-letter topic", ["consumer", "topic", "reason"])
CONSUMER_STALLS = Counter(
    "lsg_consumer_infrastructure_errors",
    "Records handed back to Kafka because PostgreSQL or Kafka was unavailable",
    ["consumer"],
)
OUTBOX_PUBLISHED = Counter("lsg_outbox_published", "Outbox rows published to Kafka", ["service"])
OUTBOX_BACKLOG = Gauge("lsg_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("lsg_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISH_ERRORS = Counter("lsg_outbox_publish_errors", "Failed outbox publish attempts", ["service"])
HTTP_REQUESTS = Histogram(
    "lsg_http_request_duration_seconds",
    "HTTP request latency by route and status",
    ["service", "method", "route", "status"],
)
CONSUMER_LAG = Gauge(
    "lsg_consumer_lag",
    "Records behind the end of the partition (high watermark - position) per consumer group and partition",
    ["group", "topic", "partition"],
)
DB_POOL_SIZE = Gauge("lsg_db_pool_connections", "Connections in the PostgreSQL pool by state", ["service", "state"])
