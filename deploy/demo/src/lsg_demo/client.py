"""HTTP access to the four services' public APIs, with the bearer tokens of the demo's users."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SERVICES = ("surveys", "training", "alerts", "reporting")
DEFAULT_PORTS = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}


class ApiError(RuntimeError):
    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} -> {status}: {body[:600]}")
        self.status = status
        self.body = body


def find_secrets_file(explicit: str | None = None) -> Path | None:
    """``--secrets-file``, else ``$LSG_DEMO_SECRETS_FILE``, else ``.data/run/secrets.env`` here or above."""
    candidate = explicit or os.environ.get("LSG_DEMO_SECRETS_FILE")
    if candidate:
        return Path(candidate)
    local_dir = os.environ.get("LSG_LOCAL_DIR", "").strip()
    if local_dir and (Path(local_dir) / "run" / "secrets.env").is_file():
        return Path(local_dir) / "run" / "secrets.env"
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        path = folder / ".data" / "run" / "secrets.env"
        if path.is_file():
            return path
    return None


def read_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


@dataclass
class Endpoints:
    urls: dict[str, str]
    admin_token: str
    editor_token: str

    @classmethod
    def resolve(
        cls,
        *,
        urls: dict[str, str | None] | None = None,
        admin_token: str | None = None,
        editor_token: str | None = None,
        secrets_file: str | None = None,
        port_offset: int = 0,
    ) -> Endpoints:
        found: dict[str, str] = {}
        path = find_secrets_file(secrets_file)
        if path is not None and path.is_file():
            found = read_env_file(path)
        out: dict[str, str] = {}
        for svc in SERVICES:
            given = (urls or {}).get(svc) or os.environ.get(f"LSG_DEMO_{svc.upper()}_URL")
            out[svc] = (given or f"http://127.0.0.1:{DEFAULT_PORTS[svc] + port_offset}").rstrip("/")
        admin = admin_token or os.environ.get("LSG_DEMO_ADMIN_TOKEN") or found.get("LSG_DEMO_ADMIN_TOKEN")
        editor = editor_token or os.environ.get("LSG_DEMO_EDITOR_TOKEN") or found.get("LSG_DEMO_EDITOR_TOKEN")
        if not admin or not editor:
            raise SystemExit(
                "lsg-demo: no API tokens: give --admin-token/--editor-token, set LSG_DEMO_ADMIN_TOKEN/"
                "LSG_DEMO_EDITOR_TOKEN, or start the suite with `make run` (it writes .data/run/secrets.env)"
            )
        return cls(out, admin, editor)


@dataclass
class Api:
    """One client per service; every call names the role it acts as."""

    endpoints: Endpoints
    timeout: float = 60.0
    calls: int = 0
    _clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def __aenter__(self) -> Api:
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
        for svc, url in self.endpoints.urls.items():
            self._clients[svc] = httpx.AsyncClient(base_url=url, timeout=self.timeout, limits=limits)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _auth(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        token = self.endpoints.admin_token if role == "admin" else self.endpoints.editor_token
        return {"authorization": f"Bearer {token}"}

    async def request(
        self,
        svc: str,
        method: str,
        path: str,
        *,
        role: str | None = "editor",
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        accept: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The response when its status is in ``ok`` or ``accept`` (expected refusals, e.g. 409 on a repeat);
        retries connection errors, 429 and 503 (a service still starting) with a growing pause."""
        client = self._clients[svc]
        all_headers = {**self._auth(role), **(headers or {})}
        delay = 0.2
        for attempt in range(12):
            try:
                response = await client.request(
                    method, path, json=json, content=content, headers=all_headers, params=params
                )
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout):
                if attempt == 11:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)
                continue
            self.calls += 1
            if response.status_code in (429, 503) and attempt < 11:
                retry = response.headers.get("retry-after", "")
                await asyncio.sleep(float(retry) if retry.replace(".", "", 1).isdigit() else delay)
                delay = min(delay * 2, 3.0)
                continue
            if response.status_code in ok or response.status_code in accept:
                return response
            raise ApiError(method, f"{client.base_url}{path}", response.status_code, response.text)
        raise AssertionError("unreachable")

    async def publishing(self, svc: str) -> bool:
        """Whether the service is connected to Kafka with its outbox relay publishing (``/health/ready``): until
        then what it stored waits in its outbox, and the reporting consumer cannot be "caught up" with it."""
        client = self._clients.get(svc)
        if client is None:
            return True  # not part of this run
        try:
            response = await client.get("/health/ready")
            checks = response.json().get("checks", {})
        except (httpx.HTTPError, ValueError):
            return False
        relay = checks.get("outbox_relay", {"publishing": True})
        return bool(checks.get("kafka", {}).get("ok")) and bool(relay.get("publishing", True))

    async def get(self, svc: str, path: str, *, role: str | None = "editor", **kw: Any) -> Any:
        return (await self.request(svc, "GET", path, role=role, **kw)).json()

    async def post(self, svc: str, path: str, body: Any = None, *, role: str = "editor", **kw: Any) -> httpx.Response:
        return await self.request(svc, "POST", path, role=role, json=body, **kw)
