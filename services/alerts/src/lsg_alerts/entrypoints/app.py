"""Composition root of the alerts service: ``create_app`` wires settings, the partner doors, the routes, the
partner-topic consumer and the supervision loop into one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lsg_alerts.adapters.secrets import SecretBox
from lsg_alerts.application.doors import PartnerDoors
from lsg_alerts.application.errors import Conflict, Invalid, NotFound
from lsg_alerts.entrypoints import consumers
from lsg_alerts.entrypoints.body_limit import DocumentedBodyLimit
from lsg_alerts.entrypoints.routes import alerts, devices, doors, partners
from lsg_alerts.entrypoints.supervision import Supervisor
from lsg_alerts.settings import AlertsSettings
from lsg_shared.app import build_app
from lsg_shared.problems import problem_response
from lsg_shared.runtime import Runtime
from lsg_shared.uow import UnitOfWork

DESCRIPTION = "Emergency-communication devices, partner CAP alerts and the alert lifecycle."
# The routes that need no bearer token (partner doors sign with HMAC); every other route requires a role.
PUBLIC_ROUTES = doors.PUBLIC_ROUTES


def _answer_application_errors(app: FastAPI) -> None:
    """The use cases' exceptions as problems (404, 409, 422 naming the field)."""

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(404, "Not found", str(exc), type_="not-found", instance=request.url.path)

    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Conflict)
        errors = [{"field": exc.field, "message": exc.detail}]
        return problem_response(409, "Conflict", exc.detail, type_="conflict", instance=request.url.path, errors=errors)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Invalid)
        return problem_response(
            422, exc.title, exc.detail, type_="validation-error", instance=request.url.path, errors=exc.errors
        )

    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(Invalid, invalid)


def create_app(settings: AlertsSettings | None = None) -> FastAPI:
    settings = settings or AlertsSettings()
    box = SecretBox.from_settings(settings)  # fails fast outside development when no key is configured
    partner_doors = PartnerDoors(settings, box)
    supervisors: list[Supervisor] = []
    units: list[UnitOfWork] = []  # this lifespan's unit of work (the pool opens when the lifespan starts)

    def unit_of_work() -> UnitOfWork:
        return units[-1]

    def register_consumers(rt: Runtime) -> None:
        consumers.register(rt, partner_doors, unit_of_work, settings.partner_group_id)

    async def open_unit_of_work(rt: Runtime) -> None:
        # One per lifespan (tests start an app object again, on a new pool); the doors reuse it per request.
        units[:] = [rt.uow]
        app.state.uow = rt.uow

    async def supervise(rt: Runtime) -> None:
        # One supervisor per lifespan, so an app object can be started again (tests restart it).
        supervisors.append(Supervisor(settings))
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
        routers=[doors.router, alerts.router, devices.router, partners.router],
        register_consumers=register_consumers,
        on_startup=[open_unit_of_work],
        background=[supervise],
        on_shutdown=[stop_supervision],
        openapi_tags=[
            {"name": "partner doors", "description": "Signed partner input (HMAC) and the CAP validator"},
            {"name": "alerts", "description": "The alert lifecycle"},
            {"name": "devices", "description": "The emergency-communication installations"},
            {"name": "partners", "description": "Partner systems and their secrets (admin)"},
        ],
    )
    # Outside the shared body limit: an oversize body gets the documented 413 (too-large, errors[]).
    app.add_middleware(
        DocumentedBodyLimit, partner_max_bytes=settings.partner_max_bytes, max_bytes=settings.max_body_bytes
    )
    _answer_application_errors(app)
    app.state.doors = partner_doors
    return app
