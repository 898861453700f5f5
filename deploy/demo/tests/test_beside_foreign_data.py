"""The simulator beside data it did not make (issue 23): a device someone else installed, e.g. by following
docs/partners.md's quick start, must not break the demo's heartbeat rounds or the live mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lsg_demo import content as C
from lsg_demo.scenario import Device, Programme

pytestmark = pytest.mark.unit

FOREIGN = {"device_id": "quickstart-siren-1", "partner_id": "acme-sirens", "status": "online"}


class FakeAlerts:
    """The alerts door as the demo sees it: a service already holding a foreign partner's installed device."""

    def __init__(self) -> None:
        self.heartbeats: list[str] = []
        self.own: list[Device] = []

    async def request(self, svc: str, method: str, path: str, **kw: Any) -> httpx.Response:
        assert svc == "alerts", svc
        if method == "POST" and path == "/v1/partners":
            return httpx.Response(201, json={"new_secret": {"secret": f"s-{kw['json']['partner_id']}"}})
        if method == "POST" and path.endswith("/heartbeats"):
            self.heartbeats.append(path.split("/")[3])
            return httpx.Response(202, json={})
        if method == "GET" and path == "/v1/alerts":
            return httpx.Response(200, json={"items": []})
        if method == "GET" and path == "/v1/devices":
            own = [{"device_id": d.device_id, "partner_id": d.partner_id, "status": "online"} for d in self.own]
            return httpx.Response(200, json={"items": [FOREIGN, *own]})
        return httpx.Response(201, json={})

    async def get(self, svc: str, path: str, **kw: Any) -> Any:
        return (await self.request(svc, "GET", path, **kw)).json()

    async def post(self, svc: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.request(svc, "POST", path, json=body, **kw)


async def test_heartbeat_round_beside_a_foreign_installed_device() -> None:
    api = FakeAlerts()
    programme = Programme(api, scenario="full-year", seed=11)  # type: ignore[arg-type]
    api.own = programme.devices[:3]
    await programme.setup_alerts()
    await programme.heartbeat_round()  # raised "coroutine raised StopIteration" from _device before the fix
    assert FOREIGN["partner_id"] not in api.heartbeats  # the demo never speaks for a partner it does not know
    assert len(api.heartbeats) == 3
    assert set(api.heartbeats) <= {p["partner_id"] for p in C.PARTNERS}
    assert programme.state.installed == {d.device_id for d in programme.devices[:3]}
