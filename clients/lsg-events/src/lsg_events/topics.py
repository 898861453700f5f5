"""The topic registry: every topic the suite uses, who produces it, who consumes it, how it is keyed.

Topics are created explicitly at start-up from this registry (broker auto-creation is off), and the Helm
chart renders Strimzi KafkaTopic resources from it, so code and deployment cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000
FOREVER = -1

SURVEYS = "lsg.surveys.events.v1"
TRAINING = "lsg.training.events.v1"
ALERTS = "lsg.alerts.events.v1"
PARTNER_INPUT = "lsg.partner.input.v1"
REPORTING = "lsg.reporting.events.v1"
INDICATORS = "lsg.reporting.indicators.v1"
PRIVACY = "lsg.privacy.requests.v1"


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of a consumed topic."""
    return f"{topic}.dlq"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    retention_ms: int
    cleanup_policy: str
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str

    def config(self) -> dict[str, str]:
        """Topic-level configuration for the admin client and for Strimzi."""
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


_STREAMS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name=SURVEYS,
        partitions=3,
        replication_factor=3,
        retention_ms=FOREVER,
        cleanup_policy="delete",
        key="campaign id",
        producers=("surveys",),
        consumers=("reporting",),
        description="Survey campaigns, pseudonymous closed answers, focus groups, consultations, the forum.",
    ),
    TopicSpec(
        name=TRAINING,
        partitions=3,
        replication_factor=3,
        retention_ms=FOREVER,
        cleanup_policy="delete",
        key="participant key (session or activity id for their own events)",
        producers=("training",),
        consumers=("reporting",),
        description="Training sessions, attendance, completions, study tour, conference and staff exchange.",
    ),
    TopicSpec(
        name=ALERTS,
        partitions=3,
        replication_factor=3,
        retention_ms=FOREVER,
        cleanup_policy="delete",
        key="device id or alert id",
        producers=("alerts",),
        consumers=("reporting",),
        description="Device installations and status, alert lifecycle (raised, acknowledged, escalated...).",
    ),
    TopicSpec(
        name=PARTNER_INPUT,
        partitions=3,
        replication_factor=3,
        retention_ms=7 * DAY_MS,
        cleanup_policy="delete",
        key="device id",
        producers=("partners",),
        consumers=("alerts",),
        description="Partner systems publish signed CAP 1.2 alerts (JSON) and device heartbeats here.",
    ),
    TopicSpec(
        name=REPORTING,
        partitions=3,
        replication_factor=3,
        retention_ms=FOREVER,
        cleanup_policy="delete",
        key="deliverable id",
        producers=("reporting",),
        consumers=("reporting",),
        description="Deliverables recorded by staff (brochures, handbooks, agreements...).",
    ),
    TopicSpec(
        name=INDICATORS,
        partitions=3,
        replication_factor=3,
        retention_ms=FOREVER,
        cleanup_policy="compact",
        key="indicator code|period|area",
        producers=("reporting",),
        consumers=("integrators",),
        description="Latest value of each indicator figure, compacted by key so a downstream system can mirror.",
    ),
    TopicSpec(
        name=PRIVACY,
        partitions=1,
        replication_factor=3,
        retention_ms=30 * DAY_MS,
        cleanup_policy="delete",
        key="request id",
        # every service holding personal data reads the requests and writes its confirmation (the ACLs follow)
        producers=("operators", "training", "surveys", "alerts", "reporting"),
        consumers=("training", "surveys", "alerts", "reporting"),
        description=(
            "Erasure requests fanned out to every service holding personal data (subject tokens, never a name)"
            " and each service's confirmation (counts only)."
        ),
    ),
)


def _dlq(spec: TopicSpec) -> TopicSpec:
    return TopicSpec(
        name=dlq_topic(spec.name),
        partitions=1,
        replication_factor=spec.replication_factor,
        retention_ms=30 * DAY_MS,
        cleanup_policy="delete",
        key="original key",
        producers=spec.consumers,
        consumers=("operators",),
        description=f"Dead letters of {spec.name}: the original record plus x-lsg-dlq-* headers saying why.",
    )


TOPICS: tuple[TopicSpec, ...] = _STREAMS + tuple(
    _dlq(s) for s in _STREAMS if s.consumers and s.consumers != ("integrators",)
)
TOPICS_BY_NAME: dict[str, TopicSpec] = {t.name: t for t in TOPICS}
