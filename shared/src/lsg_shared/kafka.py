"""Kafka plumbing: the broker every service uses, client security, and explicit topic creation."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from lsg_events.topics import TopicSpec
from lsg_shared import metrics
from lsg_shared.settings import KafkaSettings

log = logging.getLogger(__name__)


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    return ssl.create_default_context(cafile=settings.ssl_cafile)


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream security object for the configured protocol (PLAINTEXT gives None)."""
    context = ssl_context(settings)
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if not settings.sasl_username or settings.sasl_password is None:
            raise ValueError("LSG_KAFKA_SASL_USERNAME and LSG_KAFKA_SASL_PASSWORD are required for SASL")
        mechanisms: dict[str, Any] = {
            "SCRAM-SHA-512": SASLScram512,
            "SCRAM-SHA-256": SASLScram256,
            "PLAIN": SASLPlaintext,
        }
        security: BaseSecurity = mechanisms[settings.sasl_mechanism](
            settings.sasl_username,
            settings.sasl_password.get_secret_value(),
            ssl_context=context,
            use_ssl=context is not None,
        )
        return security
    if context is not None:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None


def client_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """Connection keyword arguments for bare aiokafka clients (admin, tools, tests)."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.servers,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return kwargs


def make_broker(
    settings: KafkaSettings,
    *,
    client_id: str,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    description: str | None = None,
    logger: logging.Logger | None = None,
) -> KafkaBroker:
    """The broker of one service: acks=all with idempotence, trace context and metrics middlewares."""
    broker = KafkaBroker(
        settings.servers,
        client_id=client_id,
        security=broker_security(settings),
        acks="all",
        enable_idempotence=True,
        allow_auto_create_topics=False,
        linger_ms=2,
        middlewares=(
            KafkaTelemetryMiddleware(tracer_provider=tracer_provider, meter_provider=meter_provider),
            KafkaPrometheusMiddleware(registry=metrics.registry, app_name=client_id),
        ),
        description=description,
        logger=logger or logging.getLogger(f"lsg.{client_id}.kafka"),
        log_level=logging.DEBUG,
    )
    # The consumer's per-trace spans (consumer.continue_traces) go to the same provider as the broker's own.
    broker.lsg_tracer = trace.get_tracer("lsg_shared.consumer", tracer_provider=tracer_provider)  # type: ignore[attr-defined]
    return broker


async def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that are missing (auto-creation is off). Returns the names created."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings), client_id="lsg-topic-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        cluster = await admin.describe_cluster()
        brokers = len(cluster.get("brokers", [])) or 1
        wanted: Sequence[TopicSpec] = [s for s in specs if s.name not in existing]
        if not wanted:
            return []
        new = [
            NewTopic(
                name=s.name,
                num_partitions=s.partitions,
                # Never ask for more replicas than there are brokers (a one-node dev cluster).
                replication_factor=min(settings.topic_replication_factor or s.replication_factor, brokers),
                topic_configs=s.config(),
            )
            for s in wanted
        ]
        # aiokafka reports per-topic errors in the response rather than raising: check every code, so a
        # refused creation (no ACL, bad config) fails start-up loudly instead of being taken for success.
        response = await admin.create_topics(new)
        failed = {
            str(err[0]): for_code(err[1]).__name__
            for err in getattr(response, "topic_errors", [])
            if err[1] not in (0, TopicAlreadyExistsError.errno)  # already exists: another replica was first
        }
        if failed:
            raise KafkaError(f"could not create topics: {failed}")
        log.info("created topics", extra={"topics": [s.name for s in wanted]})
        return [s.name for s in wanted]
    finally:
        await admin.close()
