"""LSG Events shared plumbing: what every service builds on. The event contracts live in ``lsg_events``.

The public API is ``__all__`` below, importable from the package (``from lsg_shared import build_app``) and
resolved lazily so that importing one small module (``lsg_shared.metrics``) does not load the web stack.

- service skeleton: ``build_app`` (app.py), ``Runtime``/``runtime`` (runtime.py), ``readiness`` (health.py),
  ``ServiceSettings`` (settings.py)
- use cases: ``UnitOfWork``/``Transaction`` (uow.py): connection + transaction + outbox enqueue
- routes: ``Admin``/``Editor``/``Viewer``/``RuntimeDep``/``Offset``/``Limit`` (deps.py), ``Problem`` and the
  ``not_found``/``conflict``/``invalid``/``invalid_field`` helpers (problems.py), ``RequestModel``/``SafeText``
  (inputs.py, the input guard), ``Principal``/``ensure_scope`` (auth.py)
- messaging: ``enqueue``/``OutboxRelay`` (outbox.py), the consumer (consumer.py), inbox, dead letters (dlq.py)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, typed, for checkers and editors
    from lsg_shared.app import build_app
    from lsg_shared.auth import Principal, ensure_scope
    from lsg_shared.deps import Admin, Editor, Limit, Offset, RuntimeDep, Viewer
    from lsg_shared.health import health_router, readiness
    from lsg_shared.inputs import RequestModel, SafeText
    from lsg_shared.outbox import OutboxRelay, enqueue
    from lsg_shared.problems import Problem, conflict, invalid, invalid_field, not_found
    from lsg_shared.runtime import Runtime, runtime
    from lsg_shared.settings import ServiceSettings
    from lsg_shared.uow import Transaction, UnitOfWork

_EXPORTS = {
    "build_app": "lsg_shared.app",
    "Runtime": "lsg_shared.runtime",
    "runtime": "lsg_shared.runtime",
    "readiness": "lsg_shared.health",
    "health_router": "lsg_shared.health",
    "ServiceSettings": "lsg_shared.settings",
    "UnitOfWork": "lsg_shared.uow",
    "Transaction": "lsg_shared.uow",
    "Admin": "lsg_shared.deps",
    "Editor": "lsg_shared.deps",
    "Viewer": "lsg_shared.deps",
    "RuntimeDep": "lsg_shared.deps",
    "Offset": "lsg_shared.deps",
    "Limit": "lsg_shared.deps",
    "Problem": "lsg_shared.problems",
    "not_found": "lsg_shared.problems",
    "conflict": "lsg_shared.problems",
    "invalid": "lsg_shared.problems",
    "invalid_field": "lsg_shared.problems",
    "RequestModel": "lsg_shared.inputs",
    "SafeText": "lsg_shared.inputs",
    "Principal": "lsg_shared.auth",
    "ensure_scope": "lsg_shared.auth",
    "enqueue": "lsg_shared.outbox",
    "OutboxRelay": "lsg_shared.outbox",
}

__all__ = [
    "Admin",
    "Editor",
    "Limit",
    "Offset",
    "OutboxRelay",
    "Principal",
    "Problem",
    "RequestModel",
    "Runtime",
    "RuntimeDep",
    "SafeText",
    "ServiceSettings",
    "Transaction",
    "UnitOfWork",
    "Viewer",
    "build_app",
    "conflict",
    "enqueue",
    "ensure_scope",
    "health_router",
    "invalid",
    "invalid_field",
    "not_found",
    "readiness",
    "runtime",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lsg_shared' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
