"""Settings of the surveys service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from lsg_shared.settings import ServiceSettings


class SurveysSettings(ServiceSettings):
    service_name: str = "surveys"
    http_port: int = 8001
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_surveys"
