"""Run some work at once when asked, then at most once per interval however often it is asked again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("chatroom.throttle")


class Throttle:
    def __init__(self, interval: float, work: Callable[[], Awaitable[None]]) -> None:
        self.interval = interval
        self.work = work
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._again = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.work()
            except Exception:
                log.exception("throttled work failed")
            await asyncio.sleep(self.interval)
            if not self._again:
                return
            self._again = False
