"""Background supervision: escalate overdue alerts, take silent devices offline.

Deadlines live in the database (``alerts.next_escalation_at``, ``devices.offline_at``), not in timers, so a
restart loses nothing: the first scan after start-up catches up. Rows are claimed with ``FOR UPDATE SKIP
LOCKED``, so several replicas may scan at once and each overdue item is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lsg_alerts.adapters import gauges
from lsg_alerts.application.supervision import supervise_once
from lsg_alerts.settings import AlertsSettings
from lsg_shared.consumer import INFRASTRUCTURE_ERRORS
from lsg_shared.runtime import Runtime

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings
        self._stop = asyncio.Event()

    async def run(self, rt: Runtime) -> None:
        interval = self.settings.supervision_interval_s
        uow = rt.uow
        while not self._stop.is_set():
            try:
                escalated, offline = await supervise_once(uow, self.settings)
                gauges.ESCALATIONS.inc(escalated)
                await gauges.sample(rt.pool)
                if escalated or offline:
                    log.info("supervision: %d alert(s) escalated, %d device(s) offline", escalated, offline)
            except asyncio.CancelledError:
                raise
            except INFRASTRUCTURE_ERRORS as exc:
                log.warning("supervision: database unavailable (%s); will retry", type(exc).__name__)
            except Exception:
                log.exception("supervision scan failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)

    async def stop(self, rt: Runtime) -> None:
        self._stop.set()
