"""Settings of the alerts service (environment variables, prefix ``LSG_``)."""

from __future__ import annotations

from lsg_shared.settings import ServiceSettings


class AlertsSettings(ServiceSettings):
    service_name: str = "alerts"
    http_port: int = 8003
    database_url: str = "postgresql://postgres:postgres@127.0.0.1:25432/lsg_alerts"
