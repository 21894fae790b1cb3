"""This process's room feeds, by room: made for a room's first viewer, retired a moment after its last."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

from chatroom.bus import Bus, BusEvent
from chatroom.errors import FeedUnavailable
from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.outbox import Frame, Outbox
from chatroom.rooms.render_cache import RenderCache
from chatroom.store import Message, MessageStore

# A room's feed outlives its last viewer briefly, so reloads and reconnect storms don't resubscribe.
FEED_LINGER_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 10.0


class _Held(Outbox):
    """Keeps a feed while no one watches it here but someone counts its messages (`chatroom.rooms.unread`)."""

    def offer(self, frame: Frame) -> None:
        pass

    def drop(self) -> None:
        pass


HELD = _Held(0)


class Feeds(dict[str, RoomFeed]):
    def __init__(
        self,
        store: MessageStore,
        bus: Bus,
        renders: RenderCache,
        history_limit: int,
        on_signal: Callable[[str, BusEvent], None],
        on_message: Callable[[Message], None],
    ) -> None:
        super().__init__()
        self.store = store
        self.bus = bus
        self.renders = renders
        self.history_limit = history_limit
        self.on_signal = on_signal
        self.on_message = on_message
        self._linger: dict[str, asyncio.TimerHandle] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    @property
    def viewer_count(self) -> int:
        return sum(len(feed.viewers) - (HELD in feed.viewers) for feed in self.values())

    async def hold(self, room: str) -> RoomFeed:
        """Keep the room's feed, with or without viewers, until `release`: its messages are counted here."""
        feed = await self.ready(room)
        feed.viewers.add(HELD)
        return feed

    def release(self, room: str) -> None:
        feed = self.get(room)
        if feed is not None and HELD in feed.viewers:
            feed.viewers.discard(HELD)
            self.left(room, feed)

    async def ready(self, room: str) -> RoomFeed:
        """The room's feed once it has loaded the latest messages; FeedUnavailable if that takes too long."""
        handle = self._linger.pop(room, None)
        if handle is not None:
            handle.cancel()
        feed = self.get(room)
        if feed is None or not feed.alive:
            feed = RoomFeed(room, self.store, self.bus, self.renders, self.history_limit)
            feed.on_signal = functools.partial(self.on_signal, room)
            feed.on_message = self.on_message
            self[room] = feed
            feed.start()
        if feed.ready.is_set():
            return feed  # the common case, and in a connect storm a wait_for each is measurable
        try:
            await asyncio.wait_for(feed.ready.wait(), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            if not feed.viewers:
                self._linger[room] = asyncio.get_running_loop().call_later(0, self._retire, room, feed)
            raise FeedUnavailable(room) from None
        return feed

    def left(self, room: str, feed: RoomFeed) -> None:
        """A viewer left `feed`: after the last one, it lingers a moment, then it is stopped."""
        if not feed.viewers:
            self._linger[room] = asyncio.get_running_loop().call_later(FEED_LINGER_SECONDS, self._retire, room, feed)

    async def close(self) -> None:
        for handle in self._linger.values():
            handle.cancel()
        await asyncio.gather(*(feed.stop() for feed in self.values()), *self._stopping)
        self.clear()

    def _retire(self, room: str, feed: RoomFeed) -> None:
        self._linger.pop(room, None)
        if not feed.viewers and self.get(room) is feed:
            del self[room]
            task = asyncio.get_running_loop().create_task(feed.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
