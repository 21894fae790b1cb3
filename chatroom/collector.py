"""When the garbage collector walks the objects that live long: as memory grows, and only the new ones.

CPython frees almost everything by reference counting; its cyclic collector is for what refers to itself.
Its young generations are walked often and cheaply. A *full* collection walks every tracked object in the
process, about 80 per open connection, and CPython starts one whenever the objects that survived two young
collections since the last full one number a quarter of those that survived it. A chat server passes that
all the time without growing: a message's objects outlive two young collections, then die by reference
count, and the next message's take their place. Measured with 10,000 connections in 2,000 rooms (the bench's
`rooms`), it paused for a full collection every 2-3 s, 400-530 ms each, which was the whole of that
scenario's p99; the eleven collections freed 289 objects in all.

So here the young generations are collected as CPython does, and the rest is ours
(`chatroom.collector.Collector.check`, every few seconds on the event loop):

- when the memory Python's objects hold (`sys.getallocatedblocks`) has grown by `GROWTH` over its low
  since the last collection, a collection of everything *not frozen*, then `gc.freeze()`: what survived it
  is set aside, and the next one walks only what came since. A pause is as long as the growth, not as the
  process: a server that holds steady is not walked at all, one that grows is walked once over;
- every `MAX_INTERVAL` seconds, everything, frozen or not (`gc.unfreeze()` first): cycles among objects
  that were set aside are freed then, and so is garbage the block count does not see (large buffers are
  not blocks).

What uncollected cycles cost is memory, so memory decides; nothing a connection leaves behind needs the
collector (a unit test checks it, tests/unit/transports/test_htmx_ws.py).

The thresholds are the process's: the first running app sets them, the last one to stop gives them back
and unfreezes what it froze.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import Callable

log = logging.getLogger("chatroom.collector")

GROWTH = 0.25  # a collection once the blocks are this much above their low since the last one
CHECK_INTERVAL = 5.0  # seconds between looks at the block count: one C call, microseconds
MAX_INTERVAL = 600.0  # seconds: a collection of everything, frozen or not, at least this often
NEVER = 2**31 - 1  # as the oldest generation's threshold: CPython never starts a full collection itself

_running = 0  # collectors started and not yet closed, in this process
_saved: tuple[int, ...] = ()  # the thresholds before the first of them


def _collect(everything: bool) -> int:
    """Collect all but the frozen objects (all of them when `everything`), then freeze the survivors."""
    if everything:
        gc.unfreeze()
    freed = gc.collect()
    gc.freeze()
    return freed


class Collector:
    """Runs the process's collections of its long-lived objects; see the module's docstring."""

    def __init__(
        self,
        blocks: Callable[[], int] = sys.getallocatedblocks,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[bool], int] = _collect,
    ) -> None:
        self._blocks, self._clock, self._collect = blocks, clock, collect
        self._low = blocks()
        self._everything = clock()  # when everything was last collected
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        global _running, _saved
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], NEVER)
        _running += 1
        self._task = asyncio.create_task(self._loop(), name="garbage collector")

    async def close(self) -> None:
        global _running
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        _running -= 1
        if _running == 0:
            gc.set_threshold(*_saved)
            gc.unfreeze()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            self.check()

    def check(self) -> bool:
        """Collect what is not frozen if the blocks have grown by `GROWTH` over their low, everything if
        `MAX_INTERVAL` has passed since that was last done; whether it collected."""
        blocks = self._blocks()
        self._low = min(self._low, blocks)
        everything = self._clock() - self._everything >= MAX_INTERVAL
        if blocks <= self._low * (1 + GROWTH) and not everything:
            return False
        started = time.perf_counter()
        freed = self._collect(everything)
        self._low = self._blocks()
        if everything:
            self._everything = self._clock()
        log.info(
            "garbage collected everything=%s freed=%d blocks=%d->%d ms=%.1f",
            everything,
            freed,
            blocks,
            self._low,
            (time.perf_counter() - started) * 1000,
        )
        return True
