"""Composition root of the alerts service."""

from __future__ import annotations

from fastapi import FastAPI

from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application import Ingestor
from lsg_alerts.entrypoints import http, partner_topic
from lsg_alerts.entrypoints.supervision import Supervisor
from lsg_alerts.settings import AlertsSettings
from lsg_shared.app import build_app
from lsg_shared.runtime import Runtime

DESCRIPTION = "Emergency-communication devices, partner CAP alerts and the alert lifecycle."


def create_app(settings: AlertsSettings | None = None) -> FastAPI:
    settings = settings or AlertsSettings()
    box = SecretBox.from_settings(settings)  # fails fast outside development when no key is configured
    holder: dict[str, Ingestor] = {}
    supervisors: list[Supervisor] = []

    def register_consumers(rt: Runtime) -> None:
        holder["ingestor"] = Ingestor(settings, box, rt.event)
        partner_topic.register(rt, holder["ingestor"], settings.partner_group_id)

    async def supervise(rt: Runtime) -> None:
        # One supervisor per lifespan, so an app object can be started again (tests restart it).
        supervisors.append(Supervisor(holder["ingestor"]))
        await supervisors[-1].run(rt)

    async def stop_supervision(rt: Runtime) -> None:
        for sup in supervisors:
            await sup.stop(rt)
        supervisors.clear()

    app = build_app(
        name="alerts",
        package="lsg_alerts",
        settings=settings,
        title="LSG Events — alerts",
        description=DESCRIPTION,
        routers=[http.router],
        register_consumers=register_consumers,
        background=[supervise],
        on_shutdown=[stop_supervision],
        openapi_tags=[
            {"name": "partner doors", "description": "Signed partner input (HMAC) and the CAP validator"},
            {"name": "alerts", "description": "The alert lifecycle"},
            {"name": "devices", "description": "The emergency-communication installations"},
            {"name": "partners", "description": "Partner systems and their secrets (admin)"},
        ],
    )
    app.state.ingestor = holder["ingestor"]
    return app
