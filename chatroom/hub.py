"""The process's rooms: where transports send messages and from where they receive them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chatroom.bus import Bus
from chatroom.feed import RoomFeed
from chatroom.identity import Person
from chatroom.outbox import Outbox
from chatroom.ratelimit import RateLimiter
from chatroom.render import Fragments, RenderedMessage
from chatroom.settings import Settings
from chatroom.store import Message, MessageStore, RoomInfo
from chatroom.validation import Refused, message_text

log = logging.getLogger("chatroom.hub")

# A room's feed outlives its last viewer briefly, so reloads and reconnect storms don't resubscribe.
FEED_LINGER_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 10.0


class FeedUnavailable(Exception):
    """The room's feed could not load its history in time (the store is down); try again later."""


class Hub:
    def __init__(self, store: MessageStore, bus: Bus, fragments: Fragments, settings: Settings) -> None:
        self.store = store
        self.bus = bus
        self.fragments = fragments
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.feeds: dict[str, RoomFeed] = {}
        self._linger: dict[str, asyncio.TimerHandle] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for handle in self._linger.values():
            handle.cancel()
        await asyncio.gather(*(feed.stop() for feed in self.feeds.values()), *self._stopping)
        self.feeds.clear()

    @property
    def viewer_count(self) -> int:
        return sum(len(feed.viewers) for feed in self.feeds.values())

    async def post(self, room: str, person: Person, raw_text: object, sender: str) -> Message | None:
        """Validate, store, then announce a message. None when there was nothing to send.

        Raises Refused (the sender's fault) or StoreUnavailable (nothing was stored).
        """
        text = message_text(raw_text, self.settings.max_message_length)
        if text is None:
            return None
        if not self.limiter.allow(sender):
            raise Refused("rate_limited", "You are sending messages too fast; wait a moment and send again.")
        message = await self.store.append(room, person.name, person.uid, text)
        feed = self.feeds.get(room)
        if feed is not None:
            feed.receive(message)  # local viewers need not wait for the bus round trip
        try:
            await self.bus.publish_message(message)
        except Exception as exc:  # stored already: other processes catch up when the bus is back
            log.warning("bus publish failed room=%s seq=%s: %r", room, message.seq, exc)
        return message

    async def history_before(self, room: str, seq: int) -> tuple[list[RenderedMessage], int]:
        """One "load older" page before `seq`, and the first `seq` on it."""
        older = await self.store.before(room, seq, self.settings.history_limit)
        return [RenderedMessage(m, self.fragments) for m in older], (older[0].seq if older else 1)

    async def messages_after(self, room: str, seq: int, limit: int) -> list[RenderedMessage]:
        return [RenderedMessage(m, self.fragments) for m in await self.store.after(room, seq, limit)]

    async def rooms(self, limit: int = 50) -> list[RoomInfo]:
        return await self.store.rooms(limit)

    async def create_room(self, room: str) -> None:
        await self.store.create_room(room)

    @asynccontextmanager
    async def watch(self, room: str, outbox: Outbox) -> AsyncIterator[RoomFeed]:
        """Receive the room's frames in `outbox` from now on; the feed gives the snapshot to start from."""
        feed = await self._ready_feed(room)
        outbox.floor = feed.last_seq  # what the feed delivered so far is in its snapshot
        feed.viewers.add(outbox)
        try:
            yield feed
        finally:
            feed.viewers.discard(outbox)
            if not feed.viewers:
                self._linger[room] = asyncio.get_running_loop().call_later(
                    FEED_LINGER_SECONDS, self._retire, room, feed
                )

    async def recent(self, room: str) -> tuple[list[RenderedMessage], int]:
        """The room's latest messages, from its live feed when this process has one."""
        feed = self.feeds.get(room)
        if feed is not None and feed.ready.is_set():
            messages = list(feed.recent)
        else:
            latest = await self.store.latest(room, self.settings.history_limit)
            messages = [RenderedMessage(m, self.fragments) for m in latest]
        return messages, (messages[0].seq if messages else 1)

    async def _ready_feed(self, room: str) -> RoomFeed:
        handle = self._linger.pop(room, None)
        if handle is not None:
            handle.cancel()
        feed = self.feeds.get(room)
        if feed is None or not feed.alive:
            feed = RoomFeed(room, self.store, self.bus, self.fragments, self.settings.history_limit)
            self.feeds[room] = feed
            feed.start()
        try:
            await asyncio.wait_for(feed.ready.wait(), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            if not feed.viewers:
                self._linger[room] = asyncio.get_running_loop().call_later(0, self._retire, room, feed)
            raise FeedUnavailable(room) from None
        return feed

    def _retire(self, room: str, feed: RoomFeed) -> None:
        self._linger.pop(room, None)
        if not feed.viewers and self.feeds.get(room) is feed:
            del self.feeds[room]
            task = asyncio.get_running_loop().create_task(feed.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
