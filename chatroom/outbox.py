"""What one connection has yet to be sent. Bounded: a reader that falls behind is dropped, never buffered."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol


class Frame(Protocol):
    """Something the room sends to its viewers; `seq` is 0 for frames that are not messages."""

    @property
    def seq(self) -> int: ...

    @property
    def html(self) -> str: ...

    @property
    def json(self) -> str | None: ...


class OutboxOverflow(Exception):
    """The connection did not read fast enough; it is closed (1013) and resyncs when it reconnects."""


class Outbox:
    def __init__(self, size: int) -> None:
        self.size = size
        self.floor = 0  # messages at or below it were already sent (snapshot or replay)
        self.overflowed = False
        self._items: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self.on_drop: Callable[[], object] | None = None

    def offer(self, frame: Frame) -> None:
        if self.overflowed:
            return
        if len(self._items) >= self.size:
            self.drop()
        else:
            self._items.append(frame)
            self._wake.set()

    def drop(self) -> None:
        """Close this connection as if it had fallen behind: it reconnects and starts from a snapshot."""
        self.overflowed = True
        self._items.clear()
        self._wake.set()
        if self.on_drop is not None:
            self.on_drop()

    async def take(self) -> list[Frame]:
        """The frames waiting now, oldest first, minus messages at or below the floor; waits for one."""
        while True:
            if self.overflowed:
                raise OutboxOverflow
            if self._items:
                frames = [f for f in self._items if f.seq == 0 or f.seq > self.floor]
                self._items.clear()
                if frames:
                    return frames
            self._wake.clear()
            await self._wake.wait()
