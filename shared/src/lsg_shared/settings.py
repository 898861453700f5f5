"""Configuration from environment variables (prefix ``LSG_``). Nothing connects at import time."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How every client (services, relay, tools, tests) reaches Kafka."""

    model_config = SettingsConfigDict(env_prefix="LSG_KAFKA_", extra="ignore")

    bootstrap: str = Field("127.0.0.1:29092", description="Comma-separated bootstrap servers")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = Field(None, description="CA bundle (PEM) that signed the brokers' certificates")
    create_topics: bool = Field(True, description="Create missing topics at start-up from the registry")
    topic_replication_factor: int | None = Field(
        None, description="Override the registry's replication factor (1 on a single local broker)"
    )

    @property
    def servers(self) -> list[str]:
        """The bootstrap servers as a list: FastStream takes a string as one host, so "a:9092,b:9092" (the form the
        setting documents, and what a three-broker cluster needs) must be split before it reaches the clients."""
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]


class ServiceSettings(BaseSettings):
    """Settings common to every service. Services subclass this to add their own."""

    model_config = SettingsConfigDict(env_prefix="LSG_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "lsg"
    environment: str = "development"
    http_host: str = "0.0.0.0"
    http_port: int = 8000
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/postgres"
    db_pool_min: int = 1
    db_pool_max: int = 10
    log_format: Literal["json", "text"] = "text"
    log_level: str = "INFO"
    consumer_retries: int = Field(3, ge=0, description="In-process retries before a message is dead-lettered")
    consumer_retry_backoff_s: float = Field(0.2, gt=0, description="First retry delay; doubles each retry")
    outbox_poll_interval_s: float = Field(1.0, gt=0)
    outbox_batch_size: int = Field(500, gt=0)
    max_body_bytes: int = Field(1_048_576, gt=0, description="Largest HTTP request body accepted")
    api_tokens: str = Field(
        "", description="JSON list of hashed bearer tokens with roles (see lsg_shared.auth)", repr=False
    )
    oidc_issuer: str | None = Field(None, description="OpenID Connect issuer URL (Keycloak realm, Entra tenant)")
    oidc_audience: str | None = Field(None, description="Expected `aud` of access tokens")
    oidc_jwks_url: str | None = Field(None, description="JWKS URL (default: discovered from the issuer)")
    oidc_jwks_file: str | None = Field(None, description="JWKS JSON file, for installs without network access")
    oidc_roles_claim: str = Field("roles", description="Dotted claim holding roles, e.g. realm_access.roles")
    oidc_role_map: str = Field("{}", description="JSON map from provider roles/groups to viewer|editor|admin")
    oidc_leeway_s: int = Field(30, ge=0, description="Clock skew tolerated on exp/nbf/iat")
    trusted_proxies: str = Field(
        "", description="Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed (audit log)"
    )
    audit_retention_days: int = Field(400, ge=1, description="Audit log rows older than this are pruned")
    audit_identity_retention_days: int | None = Field(
        None,
        ge=1,
        description="Anonymise the user identity of audit rows older than this; unset: kept",
    )
    audit_flush_interval_s: float = Field(0.5, gt=0, description="Audit rows are written in batches this often")
    audit_batch_size: int = Field(500, gt=0, description="A batch is written at once when this many rows wait")
    audit_buffer_max: int = Field(50_000, gt=0, description="Rows kept in memory while PostgreSQL is unreachable")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
