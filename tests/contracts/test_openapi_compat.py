"""Every service's HTTP API stays backward compatible with its released /v1 snapshot.

The snapshots live in docs/contracts/v1/openapi/<service>.json. Record them at a release with
``LSG_UPDATE_SNAPSHOTS=1 pytest tests/contracts``; between releases this test fails on a change that would
break an existing client (an operation removed, a response field removed or narrowed, a new required
parameter or request field), and passes on additions.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

from lsg_shared import compat

pytestmark = pytest.mark.unit
SNAPSHOTS = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "v1" / "openapi"
SERVICES = ("surveys", "training", "alerts", "reporting")


def current(service: str) -> dict:  # type: ignore[type-arg]
    app = importlib.import_module(f"lsg_{service}.entrypoints.app").create_app()
    return app.openapi()  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES)
def test_api_is_compatible_with_the_released_snapshot(service: str) -> None:
    path = SNAPSHOTS / f"{service}.json"
    spec = current(service)
    if os.environ.get("LSG_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    assert path.exists(), f"no released snapshot for {service}: record one with LSG_UPDATE_SNAPSHOTS=1"
    changes = compat.openapi_breaking_changes(json.loads(path.read_text()), spec)
    assert changes == [], f"{service}: breaking changes within /v1: {changes}"


def test_the_gate_fails_on_a_removed_operation_and_passes_an_added_one() -> None:
    released = json.loads((SNAPSHOTS / "alerts.json").read_text())
    removed = json.loads(json.dumps(released))
    path = next(p for p in removed["paths"] if p.startswith("/v1/"))
    del removed["paths"][path]
    assert any(c.startswith(path) for c in compat.openapi_breaking_changes(released, removed))
    added = json.loads(json.dumps(released))
    added["paths"]["/v1/new-thing"] = {"get": {"responses": {}}}
    assert compat.openapi_breaking_changes(released, added) == []
