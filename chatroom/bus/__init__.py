"""The broadcast bus between processes: broadcaster, with small versioned JSON events.

The bus only says "room R has message N"; the store is the truth. A lost or reordered event is
healed by the room feed, which re-reads the store whenever `seq` jumps or a backend asks for a
resync (after it reconnected).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from broadcaster import Broadcast

from chatroom import metrics
from chatroom.store import Message

VERSION = 1
# PostgreSQL's NOTIFY refuses payloads of 8000 bytes or more; past this a message travels by reference.
MAX_INLINE_BYTES = 7000
RESYNC = orjson.dumps({"v": VERSION, "type": "resync"}).decode()
# Not a room's channel (those are "room:<name>"): says the room list changed (activity, people online).
ROOMS_CHANNEL = "rooms"
ROOMS_CHANGED = orjson.dumps({"v": VERSION, "type": "rooms"}).decode()
# Nor this one: accounts' sessions that ended, and accounts that changed (name, role).
ACCOUNTS_CHANNEL = "accounts"
# And this: accounts that read a room (or chose what counts there), so every process updates their counts.
READS_CHANNEL = "reads"
READS_PER_EVENT = 40  # (account, room, seq, notify) entries of one event: well under PostgreSQL's 8000 bytes
# Nor this one: people added to a private room or removed from it.
MEMBERSHIPS_CHANNEL = "memberships"
# Held by the process from first use to stop, whoever is connected: not a room's.
PROCESS_CHANNELS = frozenset({ACCOUNTS_CHANNEL, READS_CHANNEL, MEMBERSHIPS_CHANNEL})


@dataclass(frozen=True, slots=True)
class BusEvent:
    # "message" (with `message`, or only `seq` when sent by reference), "resync", "members" (the room's
    # people changed: re-read them), "typing" (`uid`, `name` started or stopped `typing`), "rooms",
    # "ended" (the sessions `ids` ended, or every session of account `uid` when `ids` is empty),
    # "account" (account `uid` changed: re-read its sessions), "reads" (`reads`, from process `name`),
    # "membership" (private room `room` changed: account `uid` was added, or account `removed` left it) or
    # "activity" (private room `room` has a new message).
    type: str
    seq: int = 0
    message: Message | None = None
    room: str = ""
    uid: str = ""
    name: str = ""
    typing: bool = False
    ids: tuple[str, ...] = ()
    reads: tuple[tuple[str, str, int, str], ...] = ()  # "reads": (account, room, seq, notify or "")
    removed: str = ""


def channel(room: str) -> str:
    return f"room:{room}"


def encode_message(message: Message) -> str:
    """A log entry: a new message, or a change (`kind`) with the message as it is now."""
    event: dict[str, Any] = {
        "v": VERSION,
        "type": "message",
        "room": message.room,
        "seq": message.seq,
        "author": message.author,
        "author_id": message.author_id,
        "text": message.text,
        "sent_at": int(message.sent_at.timestamp() * 1_000_000),
    }
    if message.kind:
        event.update(target=message.target, kind=message.kind, edited=message.edited, deleted=message.deleted)
    if message.reactions:
        event["reactions"] = [[emoji, list(uids)] for emoji, uids in message.reactions]
    raw = orjson.dumps(event)
    # A message's files, and a reply's quote (the quoted message as it is when read), are read with it from the store.
    if len(raw) > MAX_INLINE_BYTES or message.files or message.reply_to:
        raw = orjson.dumps({"v": VERSION, "type": "message", "room": message.room, "seq": message.seq})
    return raw.decode()


def encode_members(room: str) -> str:
    return orjson.dumps({"v": VERSION, "type": "members", "room": room}).decode()


def encode_typing(room: str, uid: str, name: str, typing: bool) -> str:
    event = {"v": VERSION, "type": "typing", "room": room, "uid": uid, "name": name, "typing": typing}
    return orjson.dumps(event).decode()


def encode_account_event(type: str, uid: str, ids: tuple[str, ...] = ()) -> str:
    return orjson.dumps({"v": VERSION, "type": type, "uid": uid, "ids": list(ids)}).decode()


def encode_reads(reads: Sequence[tuple[str, str, int, str]], origin: str) -> str:
    return orjson.dumps({"v": VERSION, "type": "reads", "from": origin, "reads": [list(r) for r in reads]}).decode()


def encode_membership(room: str, added: str, removed: str) -> str:
    return orjson.dumps({"v": VERSION, "type": "membership", "room": room, "added": added, "removed": removed}).decode()


def decode(raw: str) -> BusEvent | None:
    """The event, or None for anything this version does not understand (a newer peer's event)."""
    try:
        data: Any = orjson.loads(raw)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            return None
        if data["type"] in ("resync", "rooms"):
            return BusEvent(data["type"])
        if data["type"] in ("ended", "account"):
            return BusEvent(data["type"], uid=str(data["uid"]), ids=tuple(str(i) for i in data["ids"]))
        if data["type"] == "reads":
            reads = tuple((str(a), str(r), int(s), str(n)) for a, r, s, n in data["reads"])
            return BusEvent("reads", name=str(data["from"]), reads=reads)
        if data["type"] == "membership":
            return BusEvent("membership", room=str(data["room"]), uid=str(data["added"]), removed=str(data["removed"]))
        if data["type"] == "activity":
            return BusEvent("activity", room=str(data["room"]))
        if data["type"] == "members":
            return BusEvent("members", room=str(data["room"]))
        if data["type"] == "typing":
            return BusEvent(
                "typing",
                room=str(data["room"]),
                uid=str(data["uid"]),
                name=str(data["name"]),
                typing=bool(data["typing"]),
            )
        if data["type"] != "message":
            return None
        seq = int(data["seq"])
        if "text" not in data:
            return BusEvent("message", seq)
        sent_at = datetime.fromtimestamp(data["sent_at"] / 1_000_000, UTC)
        message = Message(
            data["room"],
            seq,
            data["author"],
            data["author_id"],
            data["text"],
            sent_at,
            int(data.get("target", 0)),
            str(data.get("kind", "")),
            bool(data.get("edited", False)),
            bool(data.get("deleted", False)),
            tuple((str(e), tuple(str(u) for u in uids)) for e, uids in data.get("reactions", ())),
        )
        return BusEvent("message", seq, message)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class Bus:
    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = _backend_for(url)
        # memory:// is broadcaster's own backend, made by Broadcast from the URL; the others are ours.
        self.broadcast = Broadcast(url) if self.backend is None else Broadcast(backend=self.backend)

    @property
    def kind(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def shared(self) -> bool:
        """Whether other processes hear what is published (Redis, PostgreSQL); memory:// is this process alone."""
        return self.backend is not None

    async def connect(self) -> None:
        await self.broadcast.connect()
        if self.backend is None:
            metrics.BUS_UP.set(1)  # memory:// cannot go down; the others say when they are up

    async def disconnect(self) -> None:
        await self.broadcast.disconnect()

    async def publish_message(self, message: Message) -> None:
        await self.broadcast.publish(channel(message.room), encode_message(message))

    async def publish_members(self, room: str) -> None:
        await self.broadcast.publish(channel(room), encode_members(room))

    async def publish_typing(self, room: str, uid: str, name: str, typing: bool) -> None:
        await self.broadcast.publish(channel(room), encode_typing(room, uid, name, typing))

    async def publish_rooms_changed(self) -> None:
        await self.broadcast.publish(ROOMS_CHANNEL, ROOMS_CHANGED)

    async def publish_account_event(self, type: str, uid: str, ids: tuple[str, ...] = ()) -> None:
        await self.broadcast.publish(ACCOUNTS_CHANNEL, encode_account_event(type, uid, ids))

    async def publish_reads(self, reads: Sequence[tuple[str, str, int, str]], origin: str) -> None:
        """Accounts read rooms up to a `seq` (or chose what counts there: `notify`), in events of a bounded size;
        `origin` (the event's `name`) is the process that says so."""
        for start in range(0, len(reads), READS_PER_EVENT):
            await self.broadcast.publish(READS_CHANNEL, encode_reads(reads[start : start + READS_PER_EVENT], origin))

    async def publish_membership(self, room: str, added: str = "", removed: str = "") -> None:
        await self.broadcast.publish(MEMBERSHIPS_CHANNEL, encode_membership(room, added, removed))

    async def publish_activity(self, room: str) -> None:
        await self.broadcast.publish(
            MEMBERSHIPS_CHANNEL, orjson.dumps({"v": VERSION, "type": "activity", "room": room}).decode()
        )

    def subscribe(self, room: str) -> AbstractAsyncContextManager[AsyncIterator[BusEvent]]:
        return self._subscribe(channel(room))

    def subscribe_rooms(self) -> AbstractAsyncContextManager[AsyncIterator[BusEvent]]:
        """The room list's channel: "rooms" events, and "resync" after the backend reconnected."""
        return self._subscribe(ROOMS_CHANNEL)

    def subscribe_accounts(self) -> AbstractAsyncContextManager[AsyncIterator[BusEvent]]:
        """Sessions that ended and accounts that changed, and "resync" after the backend reconnected."""
        return self._subscribe(ACCOUNTS_CHANNEL)

    def subscribe_reads(self) -> AbstractAsyncContextManager[AsyncIterator[BusEvent]]:
        """Accounts' reads ("reads" events), and "resync" after the backend reconnected."""
        return self._subscribe(READS_CHANNEL)

    def subscribe_memberships(self) -> AbstractAsyncContextManager[AsyncIterator[BusEvent]]:
        """Private rooms whose members changed, and "resync" after the backend reconnected."""
        return self._subscribe(MEMBERSHIPS_CHANNEL)

    @asynccontextmanager
    async def _subscribe(self, name: str) -> AsyncIterator[AsyncIterator[BusEvent]]:
        async with self.broadcast.subscribe(name) as subscriber:

            async def events() -> AsyncIterator[BusEvent]:
                async for raw in subscriber:  # type: ignore[union-attr]
                    event = decode(raw.message) if raw is not None else None
                    if event is not None:
                        yield event

            yield events()

    async def ping(self) -> None:
        """Raise BusUnavailable unless the backend is connected (memory:// always is)."""
        ping = getattr(self.backend, "ping", None)
        if ping is not None:
            await ping()


def _backend_for(url: str) -> Any:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return None
    if scheme in ("redis", "rediss"):
        from chatroom.bus.redis import RedisBackend  # type: ignore[import-not-found,unused-ignore]

        return RedisBackend(url)
    if scheme in ("postgres", "postgresql"):
        from chatroom.bus.postgres import PostgresBackend  # type: ignore[import-not-found,unused-ignore]

        return PostgresBackend(url)
    raise ValueError(f"no broadcast backend for {url!r}")
