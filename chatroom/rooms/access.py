"""Who may read a room: decided here, and asked at every door that shows a room, its messages or its files.

A public room is anyone's. A private room (or a direct conversation) is its members' only: for anyone else
it does not exist. Its name says which it is (`PRIVATE` first, a character public rooms may not start with),
so a public room costs no lookup at all; a private one's members are kept per process (`TTL`, lookups of
one room that arrive together share one read) and an addition or a removal anywhere reaches every
process's cache at once over the bus, which also closes the removed person's connections to the room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from chatroom.bus import Bus, BusEvent
from chatroom.errors import StoreUnavailable
from chatroom.identity import Person
from chatroom.store import MessageStore, PrivateRoom

log = logging.getLogger(__name__)

PRIVATE = "_"  # the first character of every private room's name, and of no public room's
TTL = 60.0  # seconds an answer is kept; the bus makes it exact, the TTL bounds a lost event's harm
MAX_CACHED = 10_000


def is_private(room: str) -> bool:
    return room.startswith(PRIVATE)


@dataclass(slots=True)
class RoomWatcher:
    room: str
    uid: str
    end: Callable[[], object]  # closes the connection


UNWATCHED: AbstractContextManager[None] = nullcontext()


class Watching:
    """A watcher among the others while inside (`Access.watch`)."""

    __slots__ = ("_key", "_watcher", "_watchers")

    def __init__(self, watchers: dict[int, RoomWatcher], key: int, watcher: RoomWatcher) -> None:
        self._watchers = watchers
        self._key = key
        self._watcher = watcher

    def __enter__(self) -> None:
        self._watchers[self._key] = self._watcher

    def __exit__(self, *exc: object) -> None:
        del self._watchers[self._key]


class Access:
    def __init__(self, store: MessageStore, bus: Bus, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.bus = bus
        self._clock = clock
        self._cache: dict[str, tuple[PrivateRoom | None, float]] = {}
        self._pending: dict[str, asyncio.Future[PrivateRoom | None]] = {}
        self._watchers: dict[int, RoomWatcher] = {}
        self._ids = iter(range(1, 1 << 62))
        self._generation = 0  # moves on each change: a read that began before it is not cached
        self._task: asyncio.Task[None] | None = None
        self._reading: set[asyncio.Task[None]] = set()
        self.on_added: Callable[[str, str], object] = lambda room, uid: None  # (room, uid): tell the person
        self.on_active: Callable[[str, str], object] = lambda room, uid: None  # (room, uid): a direct one has news
        self.on_removed: Callable[[str, str], object] = lambda room, uid: None  # (room, uid): no longer a member

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def can_read(self, person: Person | None, room: str) -> bool:
        """Whether `person` (None: a visitor without a session) may read `room`'s messages and files.

        Raises StoreUnavailable when a private room's members cannot be read: nobody is let in unchecked.
        """
        if not is_private(room):
            return True
        if person is None or not person.signed_in:
            return False
        found = await self.room(room)
        return found is not None and found.has(person.uid)

    async def room(self, name: str) -> PrivateRoom | None:
        """The private room `name` with its members (None: there is none), as this process knows it."""
        cached = self._cache.get(name)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        waiting = self._pending.get(name)
        if waiting is None:
            waiting = self._pending[name] = asyncio.get_running_loop().create_future()
            reading = asyncio.get_running_loop().create_task(self._read(name, waiting))
            self._reading.add(reading)  # held until done: the loop keeps only a weak reference to a task
            reading.add_done_callback(self._reading.discard)
        return await asyncio.shield(waiting)

    async def _read(self, name: str, waiting: asyncio.Future[PrivateRoom | None]) -> None:
        generation = self._generation
        try:
            found = await self.store.private_room(name)
        except Exception as exc:
            waiting.set_exception(exc)
            waiting.exception()  # retrieved: nobody else may be waiting
            return
        finally:
            self._pending.pop(name, None)
        if generation == self._generation:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[name] = (found, self._clock() + TTL)
        waiting.set_result(found)

    async def changed(self, room: str, added: str = "", removed: str = "") -> None:
        """Account `added` joined `room`, or `removed` left it (or was removed): here at once, elsewhere by the bus."""
        self._apply(room, added, removed)
        try:
            await self.bus.publish_membership(room, added, removed)
        except Exception as exc:  # the others' caches catch up within the TTL
            log.warning("membership change not announced room=%s: %r", room, exc)

    async def active(self, room: str) -> None:
        """A new message in private room `room`: a direct conversation's two people are told, in every process."""
        found = await self.room(room)
        if found is None or not found.direct:
            return
        try:
            await self.bus.publish_activity(room)
        except Exception as exc:  # their lists are current again on their next page
            log.info("activity not announced room=%s: %r", room, exc)

    def watch(self, room: str, uid: str, end: Callable[[], object]) -> AbstractContextManager[None]:
        """While inside, `end` is called if `uid` stops being a member of private room `room`, in any process.

        A plain object (kept by a connection for its life: a generator's frame would be a few hundred bytes),
        and nothing at all for a public room, which nobody is removed from."""
        if not is_private(room):
            return UNWATCHED
        return Watching(self._watchers, next(self._ids), RoomWatcher(room, uid, end))

    def _apply(self, room: str, added: str, removed: str) -> None:
        self._generation += 1
        self._cache.pop(room, None)
        if removed:
            for watcher in [w for w in self._watchers.values() if w.room == room and w.uid == removed]:
                watcher.end()
            self.on_removed(room, removed)
        if added:
            self.on_added(room, added)

    async def _follow(self) -> None:
        while True:
            try:
                async with self.bus.subscribe_memberships() as events:
                    async for event in events:
                        await self._on_event(event)
            except Exception as exc:
                log.warning("memberships not following the bus, retrying: %r", exc)
            await asyncio.sleep(1.0)

    async def _on_event(self, event: BusEvent) -> None:
        if event.type == "membership":
            self._apply(event.room, event.uid, event.removed)
        elif event.type == "activity":
            found = await self.room(event.room)
            for member in found.members if found is not None and found.direct else ():
                self.on_active(event.room, member.uid)
        elif event.type == "resync":  # events may have been lost: check every connection to a private room here
            self._generation += 1
            self._cache.clear()
            for room in {w.room for w in self._watchers.values()}:
                try:
                    found = await self.room(room)
                except StoreUnavailable:
                    return
                for watcher in [w for w in self._watchers.values() if w.room == room]:
                    if found is None or not found.has(watcher.uid):
                        watcher.end()
