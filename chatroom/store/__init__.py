"""The message store: one interface, one implementation per database, chosen by URL."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Message:
    room: str
    seq: int
    author: str
    author_id: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class RoomInfo:
    name: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class Member:
    uid: str
    name: str


class MessageStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers."""

    async def create_room(self, room: str) -> None: ...

    async def rooms(self, limit: int, pinned: str) -> list[RoomInfo]:
        """Up to `limit` rooms: `pinned` (if it exists), the rooms by their last message, newest first,
        then the rooms never written in, newest first. Creating rooms cannot push a written one out."""

    async def expire_rooms(self, created_before: int, keep: str, limit: int) -> int:
        """Delete up to `limit` rooms never written in, made before `created_before`, that nobody has
        open, except `keep`; how many. Safe to run in several processes at once."""

    async def append(self, room: str, author: str, author_id: str, text: str) -> Message:
        """Store a message under the room's next `seq` (gapless in commit order), creating the room if new."""

    async def latest(self, room: str, limit: int) -> list[Message]:
        """The room's newest messages, oldest first."""

    async def before(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages with a smaller `seq`, the nearest ones, oldest first."""

    async def after(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages with a larger `seq`, the nearest ones, oldest first."""

    async def last_seq(self, room: str) -> int: ...

    # Presence: one lease row per (room, person, process), so every process sees who is connected where.
    # Times are microseconds since the epoch, given by the caller.

    async def enter(self, process: str, entries: list[tuple[str, str, str]], expires_at: int) -> None:
        """Hold (room, uid, name) leases for `process` until `expires_at`, creating or renaming them."""

    async def leave(self, process: str, entries: list[tuple[str, str]]) -> None:
        """Drop `process`'s (room, uid) leases."""

    async def renew(self, process: str, expires_at: int) -> int:
        """Extend all of `process`'s leases; how many it holds."""

    async def expire(self, now: int) -> list[str]:
        """Drop every lease that ran out (a process that died); the rooms that changed."""

    async def forget(self, process: str) -> list[str]:
        """Drop all of `process`'s leases (it is stopping); the rooms that changed."""

    async def rename(self, uid: str, name: str) -> list[str]:
        """A person's new display name in every lease; the rooms where they are present."""

    async def members(self, room: str, now: int) -> list[Member]:
        """The people with a live lease in the room, one each, ordered by name."""

    async def online_counts(self, now: int) -> dict[str, int]:
        """Rooms with people in them: the number of people in each."""

    async def present_rooms(self, uid: str, now: int) -> list[str]:
        """The rooms where the person has a live lease (open in some tab now)."""

    # Read markers: the last `seq` a person saw in each room, for the room list's unread marks.

    async def mark_read(self, entries: list[tuple[str, str, int]], now: int) -> None:
        """(uid, room, seq): the person saw the room up to `seq` at `now`; markers never move back."""

    async def read_markers(self, uid: str) -> dict[str, int]: ...

    async def expire_read_markers(self, updated_before: int, limit: int) -> int:
        """Delete up to `limit` markers last written before `updated_before` (people gone); how many."""


def now_us() -> int:
    """Now, in the store's unit of time: microseconds since the epoch."""
    return int(time.time() * 1_000_000)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def open_store(url: str) -> MessageStore:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from chatroom.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("postgres", "postgresql"):
        from chatroom.store.postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]

        return PostgresStore(url)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"no message store for {url!r}")
