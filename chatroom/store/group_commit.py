"""Group commit: appends that arrive while the store is committing share the next commit.

Every message is its own durable commit, and a commit costs a disk flush (an fsync, about a millisecond here)
or a round trip to PostgreSQL, so a store committing one message at a time is bounded by that rate
however fast everything else is. Here one writer per store takes every append queued so far, commits
them in one transaction, acknowledges each, and starts again if more arrived meanwhile. Nothing waits
on a timer: a lone append is committed at once, as before; under load the batches grow by themselves.

Each append is acknowledged only after its batch committed, and a batch that fails fails every one of
its appends (nothing of it is stored). Appends are committed in the order they were made, so within
a process a room's messages keep that order; `seq` stays gapless because each store reserves it in
the batch's own transaction. A `nonce` already stored, before or earlier in the same batch, gives the
message stored with it, as a lone append does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from chatroom.errors import StoreUnavailable
from chatroom.store import Message, NewFile, now_us

MAX_BATCH = 1000  # appends in one transaction: bounds a statement's size and a batch's time


@dataclass(slots=True)
class Appending:
    room: str
    author: str
    author_id: str
    text: str
    sent_at: int
    nonce: str | None
    files: Sequence[NewFile]
    stored: asyncio.Future[Message]
    reply_to: int = 0


Take = Callable[[], list[Appending]]
"""Takes the appends queued so far (up to MAX_BATCH): called by the commit once it can write, even on another thread."""


class _Queue:
    """The appends waiting for a commit: added on the event loop, taken by the one writer, anywhere."""

    def __init__(self) -> None:
        self._queue: deque[Appending] = deque()

    def add(
        self,
        room: str,
        author: str,
        author_id: str,
        text: str,
        nonce: str | None,
        files: Sequence[NewFile],
        reply_to: int = 0,
    ) -> Appending:
        loop = asyncio.get_running_loop()
        pending = Appending(room, author, author_id, text, now_us(), nonce, files, loop.create_future(), reply_to)
        self._queue.append(pending)
        return pending

    def taker(self) -> tuple[list[Appending], Take]:
        """A batch, empty until its `take` is called."""
        batch: list[Appending] = []

        def take() -> list[Appending]:
            while self._queue and len(batch) < MAX_BATCH:  # the only consumer: never empty between
                batch.append(self._queue.popleft())
            return batch

        return batch, take

    def settle(
        self, batch: list[Appending], take: Take, stored: list[Message] | None, exc: BaseException | None
    ) -> None:
        """On the event loop, after the commit: acknowledge each append of the batch, or fail each."""
        if exc is None and stored is not None and len(stored) != len(batch):
            exc = StoreUnavailable(f"{len(stored)} messages stored for a batch of {len(batch)}")
        if exc is not None or stored is None:
            for pending in batch or take():  # failed before it took any: those waiting fail, not wait on
                if not pending.stored.done():
                    pending.stored.set_exception(exc or StoreUnavailable("nothing stored"))
            return
        for pending, message in zip(batch, stored, strict=True):
            if not pending.stored.done():  # its caller may have gone; the message is stored anyway
                pending.stored.set_result(message)

    def __bool__(self) -> bool:
        return bool(self._queue)


class GroupCommit:
    """For a store that commits with a coroutine (PostgreSQL): one writer task while appends wait."""

    def __init__(self, commit: Callable[[Take], Awaitable[list[Message]]]) -> None:
        self._commit = commit  # one transaction over what `take()` returns: the message stored (or found) for each
        self._queue = _Queue()
        self._writer: asyncio.Task[None] | None = None

    async def append(
        self,
        room: str,
        author: str,
        author_id: str,
        text: str,
        nonce: str | None,
        files: Sequence[NewFile] = (),
        reply_to: int = 0,
    ) -> Message:
        pending = self._queue.add(room, author, author_id, text, nonce, files, reply_to)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        return await pending.stored

    async def _write(self) -> None:
        try:
            while self._queue:
                batch, take = self._queue.taker()
                try:
                    stored = await self._commit(take)
                except Exception as exc:
                    self._queue.settle(batch, take, None, exc)
                except asyncio.CancelledError:
                    while self._queue or batch:
                        self._queue.settle(batch, take, None, StoreUnavailable("the store is closing"))
                        batch, take = self._queue.taker()
                    raise
                else:
                    self._queue.settle(batch, take, stored, None)
        finally:
            self._writer = None


class ThreadGroupCommit:
    """For a store that commits on a thread of its own (SQLite): the batch goes to that thread straight from
    the event loop and comes back with one call, the same hops as a lone write without batching."""

    def __init__(self, executor: Executor, commit: Callable[[Take], list[Message]]) -> None:
        self._executor = executor
        self._commit = commit  # runs on the executor's thread
        self._queue = _Queue()
        self._busy = False

    async def append(
        self,
        room: str,
        author: str,
        author_id: str,
        text: str,
        nonce: str | None,
        files: Sequence[NewFile] = (),
        reply_to: int = 0,
    ) -> Message:
        pending = self._queue.add(room, author, author_id, text, nonce, files, reply_to)
        if not self._busy:
            self._submit(asyncio.get_running_loop())
        return await pending.stored

    def _submit(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, take = self._queue.taker()
        try:
            self._executor.submit(self._run, loop, batch, take)
        except RuntimeError:  # the executor shut down: the store is closed
            self._queue.settle(batch, take, None, StoreUnavailable("the store is closed"))
            return
        self._busy = True

    def _run(self, loop: asyncio.AbstractEventLoop, batch: list[Appending], take: Take) -> None:
        try:
            stored, exc = self._commit(take), None
        except BaseException as error:
            stored, exc = None, error
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(self._done, loop, batch, take, stored, exc)

    def _done(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[Appending],
        take: Take,
        stored: list[Message] | None,
        exc: BaseException | None,
    ) -> None:
        self._busy = False
        self._queue.settle(batch, take, stored, exc)
        if self._queue:  # arrived while the batch was committing: the next batch
            self._submit(loop)
