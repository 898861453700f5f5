"""The indicators dashboard: one HTML page and its static assets, served by the reporting service itself.

Plain HTML + vanilla JS + CSS from the package (``lsg_reporting/static``), no build step, no CDN: the page
reads only the public, same-origin API (``GET /v1/indicators``, ``GET /v1/indicators/{code}``) and links the
exports. Open to anyone, like the public reads it shows.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lsg_shared.problems import not_found

# Open like the public figures it shows (suppressed breakdowns only): the route-walking test reads this list.
PUBLIC_ROUTES = ("GET /dashboard",)  # its static files are not API operations (not in OpenAPI)
router = APIRouter(tags=["dashboard"])

ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@lru_cache(maxsize=8)
def _read(name: str) -> bytes:
    return resources.files("lsg_reporting").joinpath("static", name).read_bytes()


@router.get("/dashboard", response_class=HTMLResponse, summary="Indicators dashboard (HTML)")
async def dashboard() -> HTMLResponse:
    return HTMLResponse(_read("dashboard.html"), headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/dashboard/", include_in_schema=False)
async def dashboard_slash() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=308)


@router.get("/dashboard/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise not_found("dashboard asset", name)
    return Response(_read(name), media_type=media_type, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})
