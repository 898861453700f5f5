"""Moves a service's clock for scenario 12 (issue 29): put this folder first on PYTHONPATH and set
``FAULTS_CLOCK_OFFSET_S`` (seconds, may be negative) in the service's environment.

What moves: ``time.time``/``time.time_ns`` (the signature window's time of receipt) and the alerts service's
``lsg_alerts.application.lifecycle.now`` (what every alert, deadline and supervision round is stamped and
compared with), patched as that module is imported, so every ``from ... import now`` sees the moved clock.
What does not: the monotonic clock (sleeps, timeouts) and PostgreSQL's own clock (``now()`` in SQL), as on a
host whose wall clock is wrong. Python's ``datetime.datetime`` is a C type and cannot be patched as a whole;
other modules' own ``datetime.now()`` calls keep the true time.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

_OFFSET = float(os.environ.get("FAULTS_CLOCK_OFFSET_S") or 0)
_TARGET = "lsg_alerts.application.lifecycle"

if _OFFSET:
    _time, _time_ns = time.time, time.time_ns
    time.time = lambda: _time() + _OFFSET
    time.time_ns = lambda: _time_ns() + int(_OFFSET * 1e9)

    def _now() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=_OFFSET)

    class _PatchOnImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            if name != _TARGET:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            assert spec is not None
            assert spec.loader is not None
            loader: Any = spec.loader
            execute = loader.exec_module

            def exec_module(module: Any) -> None:
                execute(module)
                module.now = _now

            loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _PatchOnImport())
