"""Settings of the reporting service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from lsg_shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8004
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_reporting"
