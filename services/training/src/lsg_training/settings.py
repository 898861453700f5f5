"""Settings of the training service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

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

    @model_validator(mode="after")
    def _key_required_outside_development(self) -> TrainingSettings:
        if self.training_pseudonym_key is None and self.environment not in _DEV_ENVIRONMENTS:
            raise ValueError(f"LSG_TRAINING_PSEUDONYM_KEY must be set when LSG_ENVIRONMENT={self.environment!r}")
        return self

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
