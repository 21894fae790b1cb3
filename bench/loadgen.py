"""The load generator: thousands of WebSocket clients in one asyncio (uvloop) process.

Built on picows (a Cython WebSocket client whose frame callback runs straight from the event
loop), with permessage-deflate offered as Chromium offers it (`bench.deflate`). See
`bench.client` for one client and `bench.tally` for how deliveries are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Coroutine
from typing import Any

from bench.client import Endpoint, User, now_ns
from bench.tally import Tally


class Generator:
    """Owns the users of a scenario and the running send phase's tally."""

    def __init__(self) -> None:
        self.tally: Tally | None = None
        self.next_id = 0
        self.stopping = False
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def users(self, endpoint: Endpoint, n: int, first: int = 0) -> list[User]:
        return [User(self, first + i, endpoint) for i in range(n)]

    async def connect(self, users: list[User], concurrency: int | None = 200, timeout: float = 30.0) -> float:
        """Connect users (all at once when concurrency is None) and wait for their first frame.

        Gives up after `timeout` seconds in all; who is ready by then shows in `ready_ns`.
        """
        start = time.monotonic()
        gate = asyncio.Semaphore(concurrency or len(users) or 1)

        async def one(user: User) -> None:
            async with gate:
                await user.connect(min(timeout, 15.0))

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(one(u) for u in users)), timeout)
        await self.wait_ready(users, timeout - (time.monotonic() - start))
        return time.monotonic() - start

    async def wait_ready(self, users: list[User], timeout: float, after_ns: int = 0) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        while time.monotonic() < deadline:
            if all(u.ready_ns > after_ns for u in users):
                return True
            await asyncio.sleep(0.02)
        return all(u.ready_ns > after_ns for u in users)

    async def close(self, users: list[User], timeout: float = 5.0) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()
        transports = [u.conn.transport for u in users if u.conn is not None and u.conn.transport]
        for user in users:
            user.close()
        if transports:
            waits = [t.wait_disconnected() for t in transports]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), timeout)
        self.stopping = False

    async def send_phase(
        self, senders: list[User], receivers: int, rate: float, duration: float, drain: float, pad: str
    ) -> Tally:
        """Send `rate` messages/s round-robin from senders for `duration`, then wait for deliveries."""
        tally = self.tally = Tally(self.next_id, receivers)
        gc.collect()
        gc.freeze()  # nothing made in the hot path is cyclic; spare it the collector's scans
        gc.disable()
        try:
            await self._send(tally, senders, receivers, rate, duration, drain, pad)
        finally:
            gc.enable()
            gc.unfreeze()
            self.tally = None
        return tally

    async def _send(
        self, tally: Tally, senders: list[User], receivers: int, rate: float, duration: float, drain: float, pad: str
    ) -> None:
        total = max(1, int(rate * duration))
        start = time.monotonic()
        k = 0
        while k < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            while k < due:
                mid = self.next_id
                self.next_id += 1
                sent = now_ns()
                tally.sent_ns.append(sent)
                tally.counts.append(0)
                if not senders[k % len(senders)].send(f"hello ~{mid}.{sent}~ {pad}"):
                    tally.send_failed += 1
                k += 1
            await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        tally.window_s = total / rate
        deadline = time.monotonic() + drain
        expected = len(tally.sent_ns) * receivers
        while time.monotonic() < deadline and tally.delivered < expected:
            await asyncio.sleep(0.02)
