"""An event loop whose clock the test turns, so asyncio's timers (call_later, sleep, wait_for) fire on cue.

Code under test reads time from its loop, so this is its clock injected: `await advance(5)` is five
seconds later at once, and whatever was due in them has run. Only the wall clock (time.time) is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TurnedClockLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        return self.now


async def advance(seconds: float) -> None:
    """Let what is ready now run; move the loop's clock on; let what came due (and what it started) run."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, TurnedClockLoop), "advance() needs run_turned()"
    await _settle()
    loop.now += seconds
    await _settle()


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def run_turned(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on a loop whose clock stands still until `advance`."""
    with asyncio.Runner(loop_factory=TurnedClockLoop) as runner:
        return runner.run(main)


async def until_done(awaitable: Coroutine[Any, Any, T], step: float = 0.1, limit: float = 60.0) -> T:
    """Await it while the clock moves on in steps, as time passes while one waits; TimeoutError past `limit`."""
    task = asyncio.ensure_future(awaitable)
    waited = 0.0
    while not task.done():
        if waited >= limit:
            task.cancel()
            raise TimeoutError(f"not done after {limit} s on the turned clock")
        await advance(step)
        waited += step
    return task.result()
