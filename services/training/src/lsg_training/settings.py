"""Settings of the training service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from lsg_shared import privacy
from lsg_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

# Debian's fonts-dejavu-core: DejaVu Sans covers Latin with Latvian diacritics and Cyrillic.
DEFAULT_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
)
_DEV_ENVIRONMENTS = {"development", "test", "local"}


class TrainingSettings(ServiceSettings):
    service_name: str = "training"
    http_port: int = 8002
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_training"
    training_pseudonym_key: SecretStr | None = Field(
        None,
        description=(
            "LSG_TRAINING_PSEUDONYM_KEY: secret of the keyed hash that turns a participant into the pseudonymous "
            "key events carry. Required outside development; changing it changes every key."
        ),
        repr=False,
    )
    training_font_path: str | None = Field(
        None, description="LSG_TRAINING_FONT_PATH: a Unicode TTF for certificates (default: DejaVu Sans)"
    )

    training_personal_database_url_lv: str | None = Field(
        None,
        description=(
            "LSG_TRAINING_PERSONAL_DATABASE_URL_LV: a database in Latvia (EU) for Latvian participants' personal "
            "fields; unset: they stay in the main database"
        ),
        repr=False,
    )
    training_personal_database_url_ru: str | None = Field(
        None,
        description=(
            "LSG_TRAINING_PERSONAL_DATABASE_URL_RU: a database in Russia for Russian participants' personal fields"
            " (152-FZ art. 18(5)); unset: they stay in the main database"
        ),
        repr=False,
    )
    privacy_subject_key: SecretStr | None = Field(
        None,
        description=(
            "LSG_PRIVACY_SUBJECT_KEY: the key every service and lsg-admin share to match an erasure or access"
            " request's subject tokens (unset outside development: requests match local ids only)"
        ),
        repr=False,
    )
    training_participant_retention_days: int | None = Field(
        None,
        ge=1,
        description=(
            "LSG_TRAINING_PARTICIPANT_RETENTION_DAYS: erase a participant's personal data this many days after the"
            " last programme or activity they took part in ended; unset: kept"
        ),
    )
    audit_identity_retention_days: int | None = Field(
        None, ge=1, description="LSG_AUDIT_IDENTITY_RETENTION_DAYS: anonymise audit rows' user identity after this"
    )
    training_retention_interval_s: float = Field(
        6 * 3600, gt=0, description="LSG_TRAINING_RETENTION_INTERVAL_S: how often the retention job runs"
    )

    @model_validator(mode="after")
    def _key_required_outside_development(self) -> TrainingSettings:
        if self.training_pseudonym_key is None and self.environment not in _DEV_ENVIRONMENTS:
            raise ValueError(f"LSG_TRAINING_PSEUDONYM_KEY must be set when LSG_ENVIRONMENT={self.environment!r}")
        return self

    def subject_key(self) -> str | None:
        """The shared subject-token key; None outside development when unset (then an erasure or access request
        finds people by their local ids only, and a warning says so at start)."""
        if self.privacy_subject_key is not None:
            return self.privacy_subject_key.get_secret_value()
        return privacy.DEVELOPMENT_KEY if self.environment in _DEV_ENVIRONMENTS else None

    def personal_database_urls(self) -> dict[str, str]:
        """Per country, its personal database (only the configured ones)."""
        urls = {"LV": self.training_personal_database_url_lv, "RU": self.training_personal_database_url_ru}
        return {country: url for country, url in urls.items() if url}

    def pseudonym_key(self) -> bytes:
        if self.training_pseudonym_key is None:
            # A development-only key, derived from a fixed label so local runs are reproducible.
            return hashlib.sha256(b"lsg-training-development-only-key").digest()
        return self.training_pseudonym_key.get_secret_value().encode()

    def font_path(self) -> Path | None:
        candidates = [self.training_font_path] if self.training_font_path else list(DEFAULT_FONT_PATHS)
        for candidate in candidates:
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        return None
