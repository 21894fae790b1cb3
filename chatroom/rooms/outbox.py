"""What one connection has yet to be sent. Bounded: a reader that falls behind is dropped, never buffered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from chatroom import metrics
from chatroom.errors import OutboxOverflow
from chatroom.rooms.eager import start_eagerly


class Frame(Protocol):
    """Something the room sends to its viewers; `seq` is 0 for frames that are not messages."""

    @property
    def seq(self) -> int: ...

    @property
    def html(self) -> str: ...

    @property
    def json(self) -> str | None: ...


def html_in(frame: Frame, zone: str) -> str:
    """A frame's HTML with its times in `zone`: a message's (`RenderedMessage.html_in`); other frames have no times."""
    zoned = getattr(frame, "html_in", None)
    return frame.html if zoned is None else str(zoned(zone))


class Outbox:
    """Frames a consumer takes when it is ready for them (the SSE stream); `size` frames at most."""

    __slots__ = ("_items", "_wake", "floor", "on_drop", "overflowed", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.floor = 0  # messages at or below it were already sent (snapshot or replay)
        self.overflowed = False
        self.on_drop: Callable[[], object] | None = None
        self._items: list[Frame] = []
        self._wake: asyncio.Event | None = None  # made by the first take() that has to wait

    def offer(self, frame: Frame) -> None:
        if self.overflowed:
            return
        if len(self._items) >= self.size:
            self.drop()
            return
        self._items.append(frame)
        if self._wake is not None:
            self._wake.set()

    def drop(self) -> None:
        """Close this connection as if it had fallen behind: it reconnects and starts from a snapshot."""
        if self.overflowed:
            return
        metrics.OUTBOX_DROPS.inc()
        self.overflowed = True
        self._items.clear()
        if self._wake is not None:
            self._wake.set()
        if self.on_drop is not None:
            self.on_drop()

    def _pending(self) -> list[Frame]:
        """The frames queued now, oldest first, minus messages at or below the floor; the queue is emptied."""
        frames = [f for f in self._items if f.seq == 0 or f.seq > self.floor]
        self._items.clear()
        return frames

    async def take(self) -> list[Frame]:
        """The frames waiting now (see `_pending`); waits for one."""
        while True:
            if self.overflowed:
                raise OutboxOverflow
            frames = self._pending()
            if frames:
                return frames
            if self._wake is None:
                self._wake = asyncio.Event()
            self._wake.clear()
            await self._wake.wait()


class Writer(Protocol):
    """Where a socket's frames go: at once when the connection takes them as they are, else by a write that may
    wait (a full transport, or a server whose connection cannot be written to directly)."""

    def write_now(self, frames: Sequence[Frame]) -> bool:
        """Write the frames without waiting and say True, or write nothing and say False."""
        ...

    def write(self, frames: Sequence[Frame]) -> Coroutine[Any, Any, None]: ...


class Turn:
    """The sockets that were offered frames in this turn of the event loop, written at its end: what one turn
    sends a socket (the messages one group commit stored, a message and the counts it changes) goes out in one
    write, so a busier server makes fewer writes per frame. One per hub, as it lives on one loop."""

    __slots__ = ("_due",)

    def __init__(self) -> None:
        self._due: list[SocketOutbox] = []

    def add(self, outbox: SocketOutbox) -> None:
        if not self._due:
            asyncio.get_running_loop().call_soon(self._write)
        self._due.append(outbox)

    def _write(self) -> None:
        due, self._due = self._due, []
        for outbox in due:
            try:
                outbox.flush()
            except Exception as exc:  # as the loop would for a callback of its own: the others still write
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "a socket's write failed", "exception": exc}
                )


class SocketOutbox(Outbox):
    """Frames that write themselves to a socket: at the end of the event loop's turn, while the socket keeps up.

    Frames offered in one turn go out together when it ends (`Turn`), each socket's in one write (or one per
    `size` frames), without a task: the writer's `write_now`, or else its `write` run eagerly, which finishes
    without waiting as long as the transport takes the bytes. Only when a write has to wait (the reader is
    slow and the transport's buffer is full) does a task finish it, and frames offered meanwhile queue, `size`
    at most, to go out together after it. Until `open()` (the snapshot is on its way first) every frame
    queues, `size` at most too. A write that fails closes the outbox: `on_drop` is called, as for one that
    fell behind, but `overflowed` stays False.
    """

    __slots__ = ("_due", "_flushing", "_held", "_turn", "_writer", "closed")

    def __init__(self, size: int, writer: Writer, turn: Turn) -> None:
        super().__init__(size)
        self._writer: Writer | None = writer
        self._turn = turn
        self._held = True
        self._due = False  # in the turn's list: written when the turn ends
        self._flushing: asyncio.Task[None] | None = None
        self.closed = False

    def offer(self, frame: Frame) -> None:
        if self.closed:
            return
        if self._held or self._flushing is not None:
            super().offer(frame)  # bounded: a reader that does not keep up is dropped
        elif frame.seq == 0 or frame.seq > self.floor:
            self._items.append(frame)
            if len(self._items) >= self.size:  # a turn's worth as big as the bound: written now, `size` at a time,
                self.flush()  # so a reader whose transport fills meanwhile is held to the bound for the rest
            elif not self._due:
                self._due = True
                self._turn.add(self)

    def flush(self) -> None:
        """The turn has ended: write what it offered."""
        self._due = False
        if self.closed or self._held or self._flushing is not None:
            return
        self._send()

    def open(self) -> None:
        """The connection has its snapshot: send what queued meanwhile, and from now on at the end of each turn."""
        self._held = False
        self._send()

    def drop(self) -> None:
        self.close()
        super().drop()

    def close(self) -> None:
        """Send nothing more; a write that is waiting gives up. The writer is let go: a socket and its outbox
        refer to each other, a cycle that only the garbage collector would free once the connection ends."""
        self.closed = True
        self._writer = None
        self._items.clear()
        if self._flushing is not None:
            self._flushing.cancel()

    def _send(self) -> None:
        """Write what is pending, if anything: at once, or by a write that waits."""
        writer = self._writer
        frames = self._pending()
        if writer is None or not frames:
            return
        try:
            if writer.write_now(frames):
                return
            waiting = start_eagerly(writer.write(frames))
        except Exception:  # the peer is gone: its reader sees the disconnect
            self._failed()
            return
        if waiting is not None:
            self._flushing = waiting
            waiting.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        """A write that had to wait is done: send what queued behind it, or fail as `_send` does."""
        self._flushing = None
        if task.cancelled() or self.closed:
            return
        if task.exception() is not None:
            self._failed()
            return
        self._send()

    def _failed(self) -> None:
        if self.closed:
            return
        self.close()
        if self.on_drop is not None:
            self.on_drop()
