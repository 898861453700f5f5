"""Background sender: expand pages into notifications and send the due ones, every ``notify_interval_s`` (and
at once when there was work). State lives in the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lsg_alerts.application.lifecycle import now
from lsg_alerts.application.notifications import Notifier
from lsg_shared.consumer import INFRASTRUCTURE_ERRORS
from lsg_shared.runtime import Runtime

log = logging.getLogger(__name__)


class SenderLoop:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._stop = asyncio.Event()

    async def run(self, rt: Runtime) -> None:
        interval = self.notifier.settings.notify_interval_s
        while not self._stop.is_set():
            busy = False
            try:
                expanded = await self.notifier.expand_pages(rt.uow, now())
                sent, failed = await self.notifier.send_due(rt.uow, now())
                busy = bool(expanded or sent or failed)
                if sent or failed:
                    log.info("notify: %d sent, %d failed attempt(s)", sent, failed)
            except asyncio.CancelledError:
                raise
            except INFRASTRUCTURE_ERRORS as exc:
                log.warning("notify: database unavailable (%s); will retry", type(exc).__name__)
            except Exception:
                log.exception("notify: scan failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=0.05 if busy else interval)

    async def stop(self, rt: Runtime) -> None:
        self._stop.set()
