"""Composition root of the alerts service: ``create_app`` wires settings, the partner doors, the routes, the
partner-topic consumer and the supervision loop into one FastAPI app."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from lsg_alerts.adapters.email import EmailChannel
from lsg_alerts.adapters.personal import PersonalDatabases
from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.adapters.webhook import WebhookChannel
from lsg_alerts.application import privacy
from lsg_alerts.application.doors import PartnerDoors
from lsg_alerts.application.notifications import Notifier
from lsg_alerts.application.residency import Residency
from lsg_alerts.entrypoints import consumers, errors
from lsg_alerts.entrypoints.body_limit import DocumentedBodyLimit
from lsg_alerts.entrypoints.notifier import SenderLoop
from lsg_alerts.entrypoints.routes import ack, alerts, console, contacts, devices, doors, feed, partners, replies
from lsg_alerts.entrypoints.routes import privacy as privacy_routes
from lsg_alerts.entrypoints.supervision import Supervisor
from lsg_alerts.settings import AlertsSettings
from lsg_shared.app import build_app
from lsg_shared.personal import where
from lsg_shared.runtime import Runtime
from lsg_shared.uow import UnitOfWork

log = logging.getLogger(__name__)
DESCRIPTION = "Emergency-communication devices, partner CAP alerts and the alert lifecycle."
# The routes that need no bearer token (partner doors sign with HMAC); every other route requires a role.
# The acknowledgement links carry their own signed token; gateway replies are HMAC-signed; the console page
# holds no data (its reads take a bearer token).
PUBLIC_ROUTES = (*doors.PUBLIC_ROUTES, *ack.PUBLIC_ROUTES, *replies.PUBLIC_ROUTES, *console.PUBLIC_ROUTES)
# The reads open to anyone: the public CAP feed and its messages (only alerts meant for the public).
PUBLIC_READS = feed.PUBLIC_READS


def create_app(settings: AlertsSettings | None = None) -> FastAPI:
    settings = settings or AlertsSettings()
    box = SecretBox.from_settings(settings)  # fails fast outside development when no key is configured
    partner_doors = PartnerDoors(settings, box)
    # Residency (issue 30): the countries' personal databases, opened with the app.
    databases = PersonalDatabases(settings.personal_database_urls())
    residency = Residency(databases if databases.urls else None, where(settings.database_url))
    notifier = Notifier(
        settings, box, {"email": EmailChannel(settings), "webhook": WebhookChannel(settings)}, residency=residency
    )
    supervisors: list[Supervisor] = []
    senders: list[SenderLoop] = []
    units: list[UnitOfWork] = []  # this lifespan's unit of work (the pool opens when the lifespan starts)

    def unit_of_work() -> UnitOfWork:
        return units[-1]

    def register_consumers(rt: Runtime) -> None:
        consumers.register(rt, partner_doors, unit_of_work, settings.partner_group_id)
        consumers.register_privacy(rt, box, settings, residency)

    async def open_personal_databases(rt: Runtime) -> None:
        await databases.start()

    async def close_personal_databases(rt: Runtime) -> None:
        await databases.stop()

    async def retention_job(rt: Runtime) -> None:
        """The scheduled retention job: every LSG_ALERTS_RETENTION_INTERVAL_S, first a minute after start."""
        await asyncio.sleep(min(60.0, settings.alerts_retention_interval_s))
        while True:
            try:
                await run_retention(rt, settings, box, residency)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("retention job: %s", type(exc).__name__)
            await asyncio.sleep(settings.alerts_retention_interval_s)

    async def open_unit_of_work(rt: Runtime) -> None:
        # One per lifespan (tests start an app object again, on a new pool); the doors reuse it per request.
        units[:] = [rt.uow]
        app.state.uow = units[0]

    async def supervise(rt: Runtime) -> None:
        # One supervisor per lifespan, so an app object can be started again (tests restart it).
        supervisors.append(Supervisor(settings))
        await supervisors[-1].run(rt)

    async def send_notifications(rt: Runtime) -> None:
        senders.append(SenderLoop(notifier))
        await senders[-1].run(rt)

    async def stop_supervision(rt: Runtime) -> None:
        for sup in supervisors:
            await sup.stop(rt)
        supervisors.clear()
        for sender in senders:
            await sender.stop(rt)
        senders.clear()

    app = build_app(
        name="alerts",
        package="lsg_alerts",
        settings=settings,
        title="LSG Events — alerts",
        description=DESCRIPTION,
        routers=[
            doors.router,
            feed.router,
            alerts.router,
            devices.router,
            partners.router,
            contacts.router,
            ack.router,
            replies.router,
            console.router,
            privacy_routes.router,
        ],
        register_consumers=register_consumers,
        on_startup=[open_personal_databases, open_unit_of_work],
        background=[supervise, send_notifications, retention_job],
        on_shutdown=[stop_supervision, close_personal_databases],
        openapi_tags=[
            {"name": "partner doors", "description": "Signed partner input (HMAC) and the CAP validator"},
            {"name": "alerts", "description": "The alert lifecycle"},
            {"name": "devices", "description": "The emergency-communication installations"},
            {"name": "partners", "description": "Partner systems and their secrets (admin)"},
            {"name": "public CAP feed", "description": "The public alerts as CAP 1.2 (Atom), open to anyone"},
            {"name": "contacts and on-call", "description": "People on the escalation ladder and their rotas (admin)"},
            {
                "name": "acknowledge from the message",
                "description": "The signed, single-use link in every notification (no bearer token)",
            },
            {"name": "privacy", "description": "A person's erasure and access export (admin)"},
            {
                "name": "operator console",
                "description": "The console page (/console) and its reads: open alerts, the map, a live stream",
            },
        ],
    )
    # Outside the shared body limit: an oversize body gets the documented 413 (too-large, errors[]).
    app.add_middleware(
        DocumentedBodyLimit, partner_max_bytes=settings.partner_max_bytes, max_bytes=settings.max_body_bytes
    )
    errors.install(app)
    shared_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return ack.document_pages(shared_openapi())

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.doors = partner_doors
    app.state.box = box
    app.state.residency = residency
    app.state.alerts_settings = settings
    app.state.notifier = notifier
    app.state.ack_key = notifier.key
    return app


async def run_retention(
    rt: Runtime, settings: AlertsSettings, box: SecretBox, residency: Residency, at: datetime | None = None
) -> dict[str, int]:
    """One round of the retention job (the background task's body; tests call it with a moved clock)."""
    from lsg_alerts.application.lifecycle import now

    async with rt.uow.begin() as tx:
        return await privacy.retention(
            tx, box, residency, at=at or now(), contact_days=settings.alerts_contact_retention_days
        )
