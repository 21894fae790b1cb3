"""The message store: one interface, one implementation per database, chosen by URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


class StoreUnavailable(Exception):
    """The database did not answer; the operation did not happen (nothing was stored)."""


class MessageStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers."""

    async def create_room(self, room: str) -> None: ...

    async def rooms(self, limit: int) -> list[RoomInfo]:
        """The most recently active rooms, most active first."""

    async def append(self, room: str, author: str, author_id: str, text: str) -> Message:
        """Store a message under the room's next `seq` (gapless in commit order), creating the room if new."""

    async def latest(self, room: str, limit: int) -> list[Message]:
        """The room's newest messages, oldest first."""

    async def before(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages with a smaller `seq`, the nearest ones, oldest first."""

    async def after(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages with a larger `seq`, the nearest ones, oldest first."""

    async def last_seq(self, room: str) -> int: ...


def open_store(url: str) -> MessageStore:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from chatroom.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("postgres", "postgresql"):
        from chatroom.store.postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]

        return PostgresStore(url)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"no message store for {url!r}")
