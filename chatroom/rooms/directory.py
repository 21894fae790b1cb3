"""The live room list: the lobby and the most active rooms, by name, with the number of people in each.

Active means written in: rooms are ranked by their last message, and rooms nobody ever wrote in come
after all of them, so a flood of created rooms cannot push a real one (or the lobby) off the list.

Any change (a message, someone arriving or leaving) is announced on the bus's "rooms" channel, at
most once a second per process; every process then re-reads the list (again at most once a
second) and sends it to the people viewing a room here whose list differs. Unread marks are
per-viewer CSS over the list's `data-seq` (see the room page), so the list is rendered once per
room here, not per viewer; the viewer's own room leaves out its `data-seq`, so messages in the
room one is reading don't re-send the list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from chatroom.bus import Bus
from chatroom.errors import StoreUnavailable
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Presence, Signal, Viewer
from chatroom.rooms.render import Fragments
from chatroom.rooms.throttle import SharedRead, Throttle
from chatroom.store import MessageStore, RoomInfo, now_us
from chatroom.validation import LOBBY

Listing = tuple[list[RoomInfo], dict[str, int]]  # the listed rooms, by name, and the people online in each

log = logging.getLogger(__name__)

LISTED = 50
INTERVAL_SECONDS = 1.0


class RoomDirectory:
    def __init__(self, store: MessageStore, bus: Bus, fragments: Fragments, presence: Presence) -> None:
        self.store = store
        self.bus = bus
        self.fragments = fragments
        self.presence = presence
        self.touch = Throttle(INTERVAL_SECONDS, self._announce)  # something in the list changed here
        self.changed = Throttle(INTERVAL_SECONDS, self._send)  # something changed in some process
        self._listing: Listing | None = None  # kept current once following
        self._read_listing: SharedRead[None, Listing] = SharedRead(INTERVAL_SECONDS, lambda _: self.listing())
        self._task: asyncio.Task[None] | None = None
        self._last_counted: tuple[tuple[Listing, str, int] | None, Listing] = (None, ([], {}))  # see `_counted`
        # A signed-in person's list and title, by their connection (None for a guest's: the shared list).
        self.personal: Callable[[Outbox, str, Listing], str | None] = lambda outbox, room, listing: None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.touch.stop()
        await self.changed.stop()

    async def listing(self) -> Listing:
        """The listed rooms, by name, and the people online in each."""
        rooms = await self.store.rooms(LISTED, LOBBY)
        online = await self.store.online_counts(now_us())
        return sorted(rooms, key=lambda r: r.name), online

    async def current(self) -> Listing:
        """The listed rooms and people online, as this process last read them (shared reads until it follows)."""
        return self._listing or await self._read_listing(None)

    async def first_list(self, room: str, viewer: Viewer | None, outbox: Outbox | None = None) -> str:
        """The list a viewer arriving in `room` is sent, counting them in already.

        Until this process follows the list, arrivals share its reads (a storm of them costs one), so the
        list may be up to a second old; a person is sent every change after that, and a connection without
        a session gets this one list only.
        """
        try:
            listing = self._listing or await self._read_listing(None)
        except StoreUnavailable:
            return ""
        if viewer is not None:  # the count they see agrees with the list of people they see
            listing = self._counted(listing, room, viewer.members)
        rooms, online = listing
        html = None if outbox is None else self.personal(outbox, room, listing)
        if html is None:
            html = self.fragments.room_list(rooms, online, room, oob=True)
        if viewer is not None:
            viewer.rooms_html = html
        return html

    def _counted(self, listing: Listing, room: str, members: int) -> Listing:
        """`listing` with `members` people online in `room`. The same object as the last time it was asked with
        the same listing, room and count: a storm of arrivals between two refreshes of the room's people sees one
        listing, so what is rendered from it (each person's list, kept by listing) is rendered once."""
        last, counted = self._last_counted
        if last != (listing, room, members):
            rooms, online = listing
            counted = rooms, {**online, room: members}
            self._last_counted = (listing, room, members), counted
        return counted

    async def _follow(self) -> None:
        while True:
            try:
                async with self.bus.subscribe_rooms() as events:
                    async for _ in events:
                        self.changed()
            except Exception as exc:
                log.warning("room list not following the bus, retrying: %r", exc)
            await asyncio.sleep(1.0)

    async def _announce(self) -> None:
        try:
            await self.bus.publish_rooms_changed()
        except Exception as exc:  # the bus is down: this process's viewers at least
            log.info("room list change not announced: %r", exc)
            self.changed()

    async def _send(self) -> None:
        self._listing = listing = rooms, online = await self.listing()
        viewed = list(self.presence.viewers.items())
        lists = self.fragments.room_lists(rooms, online, [room for room, _ in viewed])
        for room, viewers in viewed:
            html = lists[room]
            for outbox, viewer in viewers.items():
                self.send(outbox, viewer, self.personal(outbox, room, listing) or html)

    def send(self, outbox: Outbox, viewer: Viewer, html: str) -> None:
        """The viewer's list, unless it is the one they were sent last."""
        if viewer.rooms_html != html:
            viewer.rooms_html = html
            outbox.offer(Signal(html))
