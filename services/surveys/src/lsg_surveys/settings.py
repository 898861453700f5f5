"""Settings of the surveys service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator

from lsg_shared import privacy
from lsg_shared.settings import ServiceSettings

# Only good for development and tests: a production start with it is refused (see `_no_dev_key_in_production`).
DEV_PSEUDONYM_KEY = "lsg-surveys-dev-pseudonym-key-not-for-production"
_DEV_ENVIRONMENTS = {"development", "test", "local"}


class SurveysSettings(ServiceSettings):
    service_name: str = "surveys"
    http_port: int = 8001
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_surveys"
    pseudonym_key: SecretStr = Field(
        SecretStr(DEV_PSEUDONYM_KEY),
        # The documented variable is LSG_SURVEYS_PSEUDONYM_KEY; `pseudonym_key=` works as a keyword in code.
        validation_alias=AliasChoices("LSG_SURVEYS_PSEUDONYM_KEY", "pseudonym_key"),
        description="Secret of the keyed hash (HMAC-SHA256) that turns respondent identities into pseudonymous keys",
    )
    max_import_bytes: int = Field(
        8 * 1024 * 1024, gt=0, description="Body limit of the Kobo/ODK import routes (exports are larger than forms)"
    )
    max_batch_rows: int = Field(1000, gt=0, le=10_000, description="Largest batch or import accepted at once")

    # Issue 30 (docs/privacy.md): residency, erasure and access requests, retention.
    surveys_personal_database_url_lv: str | None = Field(
        None,
        description=(
            "LSG_SURVEYS_PERSONAL_DATABASE_URL_LV: a database in Latvia (EU) for Latvian respondents' personal "
            "fields (name, phone, reference, free text); unset: they stay in the main database"
        ),
        repr=False,
    )
    surveys_personal_database_url_ru: str | None = Field(
        None,
        description=(
            "LSG_SURVEYS_PERSONAL_DATABASE_URL_RU: a database in Russia for Russian respondents' personal fields"
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
    surveys_respondent_retention_days: int | None = Field(
        None,
        ge=1,
        description=(
            "LSG_SURVEYS_RESPONDENT_RETENTION_DAYS: erase respondents' personal fields this many days after their"
            " campaign closed; unset: kept"
        ),
    )
    audit_identity_retention_days: int | None = Field(
        None, ge=1, description="LSG_AUDIT_IDENTITY_RETENTION_DAYS: anonymise audit rows' user identity after this"
    )
    surveys_retention_interval_s: float = Field(
        6 * 3600, gt=0, description="LSG_SURVEYS_RETENTION_INTERVAL_S: how often the retention job runs"
    )

    def subject_key(self) -> str | None:
        """The shared subject-token key; None outside development when unset (then an erasure or access request
        finds respondents by their local ids only, and a warning says so at start)."""
        if self.privacy_subject_key is not None:
            return self.privacy_subject_key.get_secret_value()
        return privacy.DEVELOPMENT_KEY if self.environment in _DEV_ENVIRONMENTS else None

    def personal_database_urls(self) -> dict[str, str]:
        """Per country, its personal database (only the configured ones)."""
        urls = {"LV": self.surveys_personal_database_url_lv, "RU": self.surveys_personal_database_url_ru}
        return {country: url for country, url in urls.items() if url}

    @model_validator(mode="after")
    def _no_dev_key_in_production(self) -> SurveysSettings:
        key = self.pseudonym_key.get_secret_value()
        if self.environment.lower() in {"production", "prod"}:
            if key == DEV_PSEUDONYM_KEY:
                raise ValueError(
                    "LSG_SURVEYS_PSEUDONYM_KEY must be set to a secret in production (the dev default is public)"
                )
            if len(key) < 32:
                raise ValueError("LSG_SURVEYS_PSEUDONYM_KEY must be at least 32 characters in production")
        return self
