"""Settings of the reporting service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from lsg_shared import privacy
from lsg_shared.settings import ServiceSettings

# Debian's fonts-dejavu-core (the same font the training service's certificates embed).
DEFAULT_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
)


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8004
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_reporting"
    consumer_group: str = Field("reporting", description="Kafka consumer group and inbox name of the aggregator")
    consume: bool = Field(True, description="Run the aggregating consumer in this process")
    consumer_max_records: int = Field(5000, gt=0, description="Records per fetched batch (committed together)")
    consumer_chunk_records: int = Field(
        1000, gt=0, description="Records per transaction within a fetched batch (decoding overlaps the previous one)"
    )
    consumer_instance_id: str | None = Field(
        None, description="Static group membership (e.g. the pod name): a restarted consumer rejoins at once"
    )
    consumer_session_timeout_ms: int = Field(10_000, ge=6_000, description="Kafka group session timeout")
    catalogue_path: str | None = Field(None, description="Indicator catalogue YAML (default: the shipped one)")
    workplan_path: str | None = Field(None, description="Work plan YAML (default: the shipped one)")
    publish_figures: bool = Field(True, description="Publish indicator.updated for figures that changed")
    publish_interval_s: float = Field(2.0, gt=0, description="Pause between indicator.updated publication runs")
    publish_max_delay_s: float = Field(
        120.0, gt=0, description="While the consumer catches up on a backlog, publication runs wait at most this long"
    )
    rebuild_batch: int = Field(5000, gt=0, description="Records per transaction while rebuilding")
    report_font_path: str | None = Field(
        None,
        description="LSG_REPORT_FONT_PATH: a Unicode TTF for period report PDFs (default: DejaVu Sans, as training's "
        "certificates: Latin with Latvian diacritics and Cyrillic)",
    )

    privacy_subject_key: SecretStr | None = Field(
        None,
        description=(
            "LSG_PRIVACY_SUBJECT_KEY: the key every service and lsg-admin share to match an erasure or access"
            " request's subject tokens (unset outside development: requests match logins given as local ids only)"
        ),
        repr=False,
    )
    reporting_identity_retention_days: int | None = Field(
        None,
        ge=1,
        description=(
            "LSG_REPORTING_IDENTITY_RETENTION_DAYS: replace the login stored as who approved, recorded, verified or"
            " took a report step with a pseudonym this many days after the action; unset: kept"
        ),
    )
    reporting_retention_interval_s: float = Field(
        6 * 3600, gt=0, description="LSG_REPORTING_RETENTION_INTERVAL_S: how often the retention job runs"
    )

    def subject_key(self) -> str | None:
        """The shared subject-token key; None outside development when unset (then a request finds logins given
        as local ids only, and a warning says so at start)."""
        if self.privacy_subject_key is not None:
            return self.privacy_subject_key.get_secret_value()
        return privacy.DEVELOPMENT_KEY if self.environment in ("development", "test", "local") else None

    def font_path(self) -> Path | None:
        candidates = [self.report_font_path] if self.report_font_path else list(DEFAULT_FONT_PATHS)
        for candidate in candidates:
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        return None
