"""Doing something at most once per interval however often it is asked: work (Throttle) and reads (SharedRead);
and reads of many keys asked together, in one (Batched)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

log = logging.getLogger(__name__)


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


class SharedRead(Generic[K, T]):
    """`read(key)`, shared: whoever asks for a key up to `fresh` seconds after its read started gets that result;
    with `fresh` 0, whoever asks while it is under way, however long it takes.

    A storm of arrivals in a room costs one query, not one each; a failed read fails them all.
    """

    def __init__(self, fresh: float, read: Callable[[K], Awaitable[T]]) -> None:
        self.fresh = fresh
        self.read = read
        self._reads: dict[K, tuple[float, asyncio.Future[T]]] = {}

    async def __call__(self, key: K) -> T:
        now = asyncio.get_running_loop().time()
        started, result = self._reads.get(key, (0.0, None))
        if result is None or self._stale((started, result), now):
            # Forget the stale ones while here: this holds only the reads of the last `fresh` seconds (with
            # `fresh` 0, those under way).
            self._reads = {k: read for k, read in self._reads.items() if not self._stale(read, now)}
            result = asyncio.ensure_future(self.read(key))
            result.add_done_callback(_retrieve)
            self._reads[key] = (now, result)
        return await asyncio.shield(result)

    def _stale(self, read: tuple[float, asyncio.Future[T]], now: float) -> bool:
        started, result = read
        return now - started > self.fresh and (self.fresh > 0 or result.done())


class Batched(Generic[K, T]):
    """`fetch(keys)` for keys asked for together: those asked in one turn of the event loop, or while a fetch is
    under way, go in the next fetch (up to `size` in each), so a storm of asks costs a few trips to the store,
    not one each. Each asker gets its key's result; a failed fetch fails its askers."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[list[T]]], size: int) -> None:
        self.fetch = fetch
        self.size = size
        self._asked: list[tuple[K, asyncio.Future[T]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        future.add_done_callback(_retrieve)
        self._asked.append((key, future))
        if self._task is None:
            self._task = loop.create_task(self._run())
        return await asyncio.shield(future)  # an asker that leaves does not cancel the others' fetch

    async def _run(self) -> None:
        asked: list[tuple[K, asyncio.Future[T]]] = []
        try:
            await asyncio.sleep(0)  # the asks of this turn join the first fetch
            while self._asked:
                asked, self._asked = self._asked[: self.size], self._asked[self.size :]
                try:
                    found = await self.fetch([key for key, _ in asked])
                except Exception as exc:
                    for _, future in asked:
                        future.set_exception(exc)
                    continue
                for (_, future), result in zip(asked, found, strict=True):
                    future.set_result(result)
        except BaseException:  # cancelled (the process stops): nobody waits for ever
            for _, future in [*asked, *self._asked]:
                if not future.done():
                    future.cancel()
            self._asked = []
            raise
        finally:
            self._task = None


def _retrieve(future: asyncio.Future[T]) -> None:
    """A read whose every asker went away still has its outcome collected, so it is not reported as lost."""
    if not future.cancelled():
        future.exception()
