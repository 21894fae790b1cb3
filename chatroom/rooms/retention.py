"""What the store forgets, so that nothing a visitor can create grows without bound.

Rooms nobody ever wrote in go a day after they were made (the lobby, and rooms someone has open,
stay); a person's read markers go when they have not been written for 30 days (a guest's session
may never come back); accounts' sessions when they expire, and links (invites, setup, resets) when they
expire or are used up; messages older than `RETENTION_DAYS` (or their room's own number of days), as
deletions everyone sees, like a person's: their text and files leave the store, and each deletion takes
its place in the room's log. Presence leases expire by themselves (`Presence`).

Every process runs this: each deletion is idempotent and takes at most `BATCH` rows in a short
transaction. A full batch is followed by the next one a second later, so a backlog is worked off
without holding the database; otherwise the next run is `INTERVAL_SECONDS` away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatroom.errors import StoreUnavailable
from chatroom.store import Message, MessageStore, now_us
from chatroom.validation import LOBBY

log = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000
EMPTY_ROOM_SECONDS = 24 * 3600
READ_MARKER_SECONDS = 30 * 24 * 3600
BATCH = 500
INTERVAL_SECONDS = 600.0
CATCH_UP_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Swept:
    rooms: int
    read_markers: int
    messages: int = 0

    @property
    def full(self) -> bool:
        """A batch was full: there may be more to delete."""
        return BATCH in (self.rooms, self.read_markers) or self.messages >= BATCH


class Retention:
    def __init__(self, store: MessageStore, retention_days: int = 0) -> None:
        self.store = store
        self.retention_days = retention_days
        self.on_rooms_removed: Callable[[], None] = lambda: None
        self.on_deleted: Callable[[Message], Awaitable[None]] = _nothing  # announces a deletion
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def sweep(self, now: int) -> Swept:
        """One batch of each: empty rooms made before a day ago, read markers untouched for 30 days."""
        rooms = await self.store.expire_rooms(now - EMPTY_ROOM_SECONDS * 1_000_000, LOBBY, BATCH)
        markers = await self.store.expire_read_markers(now - READ_MARKER_SECONDS * 1_000_000, BATCH)
        sessions = await self.store.expire_sessions(now)
        tokens = await self.store.expire_tokens(now)
        if rooms or markers or sessions or tokens:
            log.info(
                "expired empty_rooms=%d read_markers=%d sessions=%d links=%d batch=%d",
                rooms,
                markers,
                sessions,
                tokens,
                BATCH,
            )
        if rooms:
            self.on_rooms_removed()
        messages = await self.expire_messages(now)
        return Swept(rooms, markers, messages)

    async def expire_messages(self, now: int) -> int:
        """Delete one batch of messages past their room's retention, each announced as a deletion; how many."""
        old: list[tuple[str, int]] = []
        if self.retention_days:
            old += await self.store.old_messages(now - self.retention_days * DAY_US, BATCH)
        for room, days in (await self.store.room_retention()).items():
            if days:
                old += await self.store.old_messages(now - days * DAY_US, BATCH, room)
        deleted = 0
        for room, id in old:
            entry = await self.store.delete(room, id)
            if entry is not None:
                await self.on_deleted(entry)
                deleted += 1
        if deleted:
            log.info("expired messages=%d", deleted)
        return deleted

    async def _loop(self) -> None:
        while True:
            try:
                swept = await self.sweep(now_us())
            except StoreUnavailable as exc:
                log.warning("expiry not run, retrying later: %s", exc)
                swept = Swept(0, 0)
            await asyncio.sleep(CATCH_UP_SECONDS if swept.full else INTERVAL_SECONDS)


async def _nothing(entry: Message) -> None:
    return None
