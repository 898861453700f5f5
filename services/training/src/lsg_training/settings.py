"""Settings of the training service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from lsg_shared.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    service_name: str = "training"
    http_port: int = 8002
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_training"
