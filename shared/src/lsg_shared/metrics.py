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
READY = Gauge(
    "lsg_ready", "1 when the service is ready (Kafka and PostgreSQL reachable, migrations applied)", ["service"]
)
DEPENDENCY_UP = Gauge("lsg_dependency_up", "1 when a dependency check passes", ["service", "dependency"])
OUTBOX_PUBLISH_DELAY = Histogram(
    "lsg_outbox_publish_delay_seconds",
    "Time from the business write (outbox row) to the broker's acknowledgement, by event type",
    ["service", "event_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
