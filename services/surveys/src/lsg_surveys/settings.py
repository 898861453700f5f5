"""Settings of the surveys service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator

from lsg_shared.settings import ServiceSettings

# Only good for development and tests: a production start with it is refused (see `_no_dev_key_in_production`).
DEV_PSEUDONYM_KEY = "lsg-surveys-dev-pseudonym-key-not-for-production"


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
