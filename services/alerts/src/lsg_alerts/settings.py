"""Settings of the alerts service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from lsg_shared import privacy
from lsg_shared.settings import ServiceSettings

_DEV_ENVIRONMENTS = {"development", "test", "local"}

# CAP severities whose unacknowledged alerts escalate, with the seconds allowed before each escalation.
# Minor alerts (low battery...) are recorded and shown but never page anyone.
DEFAULT_ACK_DEADLINES_S: dict[str, float] = {"Extreme": 120, "Severe": 300, "Moderate": 1800, "Unknown": 1800}


class AlertsSettings(ServiceSettings):
    service_name: str = "alerts"
    http_port: int = 8003
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_alerts"

    # ---- partner secrets at rest ----------------------------------------------------------------------
    alerts_secrets_key: SecretStr | None = Field(
        None,
        description="Fernet key(s) that encrypt partner HMAC secrets at rest (LSG_ALERTS_SECRETS_KEY). "
        "Comma-separated: the first encrypts, all decrypt (key rotation).",
        repr=False,
    )
    alerts_secrets_key_file: Path | None = Field(
        None, description="File holding the key(s) instead, e.g. a mounted Kubernetes Secret"
    )

    # ---- partner doors -------------------------------------------------------------------------------
    partner_group_id: str = Field("alerts-partner-input", description="Consumer group of the partner topic")
    signature_tolerance_s: int = Field(300, gt=0, description="Largest allowed |now - X-LSG-Timestamp|")
    partner_max_bytes: int = Field(65_536, gt=0, description="Largest partner document (HTTP body or Kafka value)")
    partner_rate_per_s: float = Field(
        50.0, gt=0, description="Sustained requests per second per partner, across all replicas (shared bucket)"
    )
    partner_rate_burst: int = Field(200, gt=0, description="Token-bucket size per partner, shared by every replica")

    # ---- lifecycle and supervision ------------------------------------------------------------------
    ack_deadlines_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_ACK_DEADLINES_S),
        description="Seconds an alert of each CAP severity may stay unacknowledged before it escalates",
    )
    escalate_drills: bool = Field(False, description="Escalate Test/Exercise alerts too")
    supervision_interval_s: float = Field(5.0, gt=0, description="How often deadlines and heartbeats are scanned")
    missed_heartbeats_offline: int = Field(3, gt=0, description="Missed heartbeat intervals before a device is offline")
    low_battery_pct: float = Field(20.0, ge=0, le=100)
    offline_alert_severity: str = Field("Moderate", description="CAP severity of a device_offline alert")
    cap_feed_sender: str = Field(
        "alerts@lsg-events.lv", description="The CAP sender of the suite's own messages in the public CAP feed"
    )
    cap_feed_max_age_s: int = Field(60, ge=0, description="Cache-Control max-age of the public CAP feed")
    cap_feed_cancelled_s: int = Field(
        86_400, ge=0, description="How long a cancelled alert stays in the feed (as a Cancel message)"
    )

    # ---- reaching people (issue 26) ---------------------------------------------------------------------
    public_base_url: str = Field(
        "http://localhost:8003", description="How people reach this service: the acknowledgement links start here"
    )
    ack_link_key: SecretStr | None = Field(
        None,
        description="HMAC key of the acknowledgement links (LSG_ACK_LINK_KEY); derived from the secrets key when unset",
        repr=False,
    )
    ack_link_ttl_s: int = Field(86_400, gt=0, description="How long an acknowledgement link stays valid")
    smtp_host: str = Field("127.0.0.1", description="The SMTP relay")
    smtp_port: int = Field(25, gt=0, lt=65_536)
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS (required when true)")
    smtp_tls: bool = Field(False, description="Implicit TLS from the first byte (port 465)")
    smtp_username: str | None = Field(None, description="SMTP authentication, when the relay asks for it")
    smtp_password: SecretStr | None = Field(None, repr=False)
    smtp_from: str = Field("LSG Events <alerts@lsg-events.lv>", description="The From of every message")
    smtp_timeout_s: float = Field(10.0, gt=0)
    notify_interval_s: float = Field(1.0, gt=0, description="How often pending notifications are looked for")
    notify_attempts_per_channel: int = Field(5, gt=0, description="Tries on one channel before the next one")
    notify_backoff_s: float = Field(5.0, gt=0, description="Wait after the first failed try; doubles each time")
    notify_backoff_max_s: float = Field(300.0, gt=0, description="Longest wait between tries")
    notify_concurrency: int = Field(
        4, gt=0, le=256, description="Messages sent at once per scan (each in its own transaction, rows locked)"
    )
    notify_batch: int = Field(
        4, gt=0, le=100, description="Due messages one sender claims and sends together, in one transaction"
    )
    reply_gateway_secret: SecretStr | None = Field(
        None,
        repr=False,
        description="The shared secret an SMS or e-mail gateway signs inbound replies with (POST /v1/replies, "
        "the partner door's HMAC scheme); unset: replies are refused (401)",
    )

    # ---- privacy fan-out -----------------------------------------------------------------------------------
    privacy_subject_key: SecretStr | None = Field(
        None,
        description="The suite's subject-token key (LSG_PRIVACY_SUBJECT_KEY): person.erasure_requested names people "
        "by tokens made with it",
        repr=False,
    )
    privacy_group_id: str = Field("alerts-privacy", description="Consumer group of the privacy topic")
    # Issue 30 (docs/privacy.md): residency and retention of contacts.
    alerts_personal_database_url_lv: str | None = Field(
        None,
        description=(
            "LSG_ALERTS_PERSONAL_DATABASE_URL_LV: a database in Latvia (EU) for Latvian contacts' sealed personal "
            "part (name, addresses, phone); unset: it stays in the main database"
        ),
        repr=False,
    )
    alerts_personal_database_url_ru: str | None = Field(
        None,
        description=(
            "LSG_ALERTS_PERSONAL_DATABASE_URL_RU: a database in Russia for Russian contacts' sealed personal part"
            " (152-FZ art. 18(5)); unset: it stays in the main database"
        ),
        repr=False,
    )
    alerts_contact_retention_days: int | None = Field(
        None,
        ge=1,
        description=(
            "LSG_ALERTS_CONTACT_RETENTION_DAYS: erase contacts in no rota and not active (registered, notified, "
            "covering) for this many days; unset: kept until erased"
        ),
    )
    alerts_retention_interval_s: float = Field(
        6 * 3600, gt=0, description="LSG_ALERTS_RETENTION_INTERVAL_S: how often the retention job runs"
    )

    def subject_key(self) -> str | None:
        """The subject-token key; None outside development when unset (erasure requests then match contacts by
        their ids in ``local_ids['alerts']`` only)."""
        if self.privacy_subject_key is not None:
            return self.privacy_subject_key.get_secret_value()
        return privacy.DEVELOPMENT_KEY if self.environment in _DEV_ENVIRONMENTS else None

    def personal_database_urls(self) -> dict[str, str]:
        """Per country, its personal database (only the configured ones)."""
        urls = {"LV": self.alerts_personal_database_url_lv, "RU": self.alerts_personal_database_url_ru}
        return {country: url for country, url in urls.items() if url}
