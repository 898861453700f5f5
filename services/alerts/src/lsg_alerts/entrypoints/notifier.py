"""Background sender: expand pages into notifications and send the due ones, every ``notify_interval_s`` (and
at once when there was work). State lives in the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

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
        # Two loops: expanding pages (who is on call) does not wait for a slow relay, nor sending for expansion.
        await asyncio.gather(self._loop(rt, self._expand), self._loop(rt, self._send))

    async def _expand(self, rt: Runtime) -> bool:
        return bool(await self.notifier.expand_pages(rt.uow, now()))

    async def _send(self, rt: Runtime) -> bool:
        sent, failed = await self.notifier.send_due(rt.uow, now())
        if sent or failed:
            log.info("notify: %d sent, %d failed attempt(s)", sent, failed)
        return bool(sent or failed)

    async def _loop(self, rt: Runtime, step: Callable[[Runtime], Awaitable[bool]]) -> None:
        interval = self.notifier.settings.notify_interval_s
        while not self._stop.is_set():
            busy = False
            try:
                busy = await step(rt)
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
        for channel in self.notifier.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:  # the e-mail channel's kept-open relay connections
                with contextlib.suppress(Exception):
                    await close()
