"""The process's rooms: where transports send messages and from where they receive them."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chatroom.bus import Bus, BusEvent
from chatroom.identity import Person
from chatroom.rooms.directory import RoomDirectory
from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.history import History
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import MEMBERS_REFRESH_SECONDS, Presence
from chatroom.rooms.ratelimit import RateLimiter
from chatroom.rooms.render import Fragments, RenderedMessage, rendered_run
from chatroom.rooms.throttle import SharedRead
from chatroom.rooms.typing import TypingIndicator
from chatroom.settings import Settings
from chatroom.store import Message, MessageStore, RoomInfo
from chatroom.validation import Refused, message_text

log = logging.getLogger("chatroom.rooms.hub")

# A room's feed outlives its last viewer briefly, so reloads and reconnect storms don't resubscribe.
FEED_LINGER_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 10.0


def not_stored() -> Refused:
    return Refused("store_unavailable", "Your message could not be saved, so it was not sent. Try again in a moment.")


class FeedUnavailable(Exception):
    """The room's feed could not load its history in time (the store is down); try again later."""


class Hub:
    def __init__(self, store: MessageStore, bus: Bus, fragments: Fragments, settings: Settings) -> None:
        self.store = store
        self.bus = bus
        self.fragments = fragments
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.history = History(store, fragments, settings.history_limit)
        self.feeds: dict[str, RoomFeed] = {}
        self._linger: dict[str, asyncio.TimerHandle] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self.presence = Presence(store, bus, fragments, settings.presence_lease)
        self.typing = TypingIndicator(bus, fragments, self.presence)
        self.directory = RoomDirectory(store, bus, fragments, self.presence)
        self.presence.on_change = self.directory.touch
        # Typing over HTTP (the SSE page): per session, as browsers send one event per 2 s.
        self.typing_limiter = RateLimiter(1.0, 3)
        self._people_for_guests = SharedRead(MEMBERS_REFRESH_SECONDS, self._render_people_for_guests)

    async def close(self) -> None:
        await self.directory.close()
        self.typing.close()
        await self.presence.close()
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
        self.directory.touch()  # throttled: at most one "rooms" event a second, whatever the message rate
        feed = self.feeds.get(room)
        if feed is not None:
            feed.receive(message)  # local viewers need not wait for the bus round trip
        try:
            await self.bus.publish_message(message)
        except Exception as exc:  # stored already: other processes catch up when the bus is back
            log.warning("bus publish failed room=%s seq=%s: %r", room, message.seq, exc)
        return message

    async def rooms(self, limit: int = 50) -> list[RoomInfo]:
        return await self.store.rooms(limit)

    async def create_room(self, room: str) -> None:
        await self.store.create_room(room)

    @asynccontextmanager
    async def watch(self, room: str, outbox: Outbox, person: Person | None = None) -> AsyncIterator[RoomFeed]:
        """Receive the room's frames in `outbox` from now on; the feed gives the snapshot to start from.

        With a `person` (a session), they are among the room's people while watching, and `outbox`
        also receives the room's people, who is typing and the room list.
        """
        feed = await self._ready_feed(room)
        outbox.floor = feed.last_seq  # only what comes after joining; taking a snapshot moves it up
        feed.viewers.add(outbox)
        try:
            if person is not None:
                self.directory.start()
                await self.presence.arrive(room, person, outbox)
            yield feed
        finally:
            if person is not None:
                self.presence.leave(room, person.uid, outbox, feed.last_seq)
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
            latest = await self.store.latest(room, self.settings.history_limit + 1)
            messages = rendered_run(latest, self.fragments)[-self.settings.history_limit :]
        return messages, (messages[0].seq if messages else 1)

    async def people_snapshot(self, room: str, outbox: Outbox) -> str:
        """What a connection starts from besides the messages: the room's people, who types, the room list."""
        viewer = self.presence.viewers.get(room, {}).get(outbox)
        if viewer is None:
            return await self._people_for_guests(room)
        viewer.typing_html = self.typing.html_for(room, viewer.uid)
        return viewer.members_html + viewer.typing_html + await self.directory.first_list(room, viewer)

    async def _render_people_for_guests(self, room: str) -> str:
        """A connection without a session is sent no later changes, so in a storm all of them share one."""
        members = self.fragments.members(await self.presence.members(room), oob=True)
        return members + self.typing.html_for(room, None) + await self.directory.first_list(room, None)

    def typed(self, room: str, person: Person, typing: bool) -> None:
        self.typing.typed(room, person.uid, person.name, typing)

    async def rename(self, person: Person) -> None:
        await self.presence.rename(person.uid, person.name)

    def _on_signal(self, room: str, event: BusEvent) -> None:
        if event.type == "typing":
            self.typing.apply(room, event.uid, event.name, event.typing)
        elif event.type in ("members", "resync"):  # after a resync, events may have been lost
            self.presence.refresh(room)

    async def _ready_feed(self, room: str) -> RoomFeed:
        handle = self._linger.pop(room, None)
        if handle is not None:
            handle.cancel()
        feed = self.feeds.get(room)
        if feed is None or not feed.alive:
            feed = RoomFeed(room, self.store, self.bus, self.fragments, self.settings.history_limit)
            feed.on_signal = functools.partial(self._on_signal, room)
            feed.on_message = self.typing.message_sent
            self.feeds[room] = feed
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

    def _retire(self, room: str, feed: RoomFeed) -> None:
        self._linger.pop(room, None)
        if not feed.viewers and self.feeds.get(room) is feed:
            del self.feeds[room]
            task = asyncio.get_running_loop().create_task(feed.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
