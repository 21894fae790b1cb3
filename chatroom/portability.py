"""Export and import: a community as JSON Lines, to keep, to read, or to move to another store.

The file is one JSON object per line. The first is the header, then one record per line, each
saying its `kind`:

    {"kind": "chatroom-export", "format": 1, "version": "0.1.0", "exported_at": "2026-12-01T09:00:00.000000Z"}
    {"kind": "room", "name": "lobby", "last_seq": 2, "created_at": "…Z", "active_at": "…Z"}
    {"kind": "message", "room": "lobby", "seq": 1, "author": "ada", "author_id": "…", "text": "hi", "sent_at": "…Z"}

Every room comes before any message; messages come in `seq` order within their room. Later releases
add what they keep (accounts, edits, reactions) as records of new kinds, placed where their import
needs them (accounts before messages, edits and reactions after them), and `format` moves only for a
change that an older reader would misread. An importer refuses a kind it does not know, naming it:
a community is never half moved without anyone noticing.

Import keeps every room's `seq`, so permalinks and clients' positions stay true, and is idempotent:
a message already there (same room, `seq`, author and text) is skipped, so importing twice adds
nothing. A *different* message under the same `seq` stops the import before it writes anything.
The whole file is read and checked first: a bad line writes nothing either. Import into a store
that no running server writes to (messages posted meanwhile could take the imported `seq`s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from chatroom.errors import CommandError
from chatroom.store import Message, MessageStore, RoomRecord
from chatroom.validation import ROOM_NAME
from chatroom.version import VERSION

HEADER = "chatroom-export"
FORMAT = 1
PAGE = 500  # rows per store read or write
MAX_LINE_BYTES = 1 << 20  # far above any record this release writes; a longer line is not an export of ours
MAX_FIELD_CHARS = 100_000  # a name or a text (the source may have allowed longer messages than this server does)


@dataclass
class Counts:
    rooms: int = 0
    messages: int = 0
    skipped: int = 0  # messages already in the store

    def __str__(self) -> str:
        return f"rooms={self.rooms} messages={self.messages} already_there={self.skipped}"


# Export


async def export(store: MessageStore, out: TextIO, room: str | None = None) -> Counts:
    """Write the header, the rooms (or only `room`), then their messages, to `out`."""
    counts = Counts()
    _write(out, {"kind": HEADER, "format": FORMAT, "version": VERSION, "exported_at": _time(datetime.now(UTC))})
    names = []
    async for record in _rooms(store):
        if room is None or record.name == room:
            _write(out, _room_record(record))
            names.append(record.name)
    if room is not None and not names:
        raise CommandError(f"There is no room {room!r} to export.")
    for name in names:
        counts.rooms += 1
        seq = 0
        while page := await store.after(name, seq, PAGE):
            for message in page:
                _write(out, _message_record(message))
            counts.messages += len(page)
            seq = page[-1].seq
    return counts


async def _rooms(store: MessageStore) -> AsyncIterator[RoomRecord]:
    after = ""
    while page := await store.room_records(after, PAGE):
        for record in page:
            yield record
        after = page[-1].name


def _room_record(room: RoomRecord) -> dict[str, Any]:
    return {
        "kind": "room",
        "name": room.name,
        "last_seq": room.last_seq,
        "created_at": _time(room.created_at),
        "active_at": _time(room.active_at),
    }


def _message_record(m: Message) -> dict[str, Any]:
    return {
        "kind": "message",
        "room": m.room,
        "seq": m.seq,
        "author": m.author,
        "author_id": m.author_id,
        "text": m.text,
        "sent_at": _time(m.sent_at),
    }


def _write(out: TextIO, record: dict[str, Any]) -> None:
    out.write(orjson.dumps(record).decode() + "\n")


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Reading a file: each line checked, with its number in every complaint


class Reader:
    """The records of an export file, checked line by line; `parsers` says what each kind becomes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parsers: dict[str, Callable[[Fields], object]] = {"room": _parse_room, "message": _parse_message}

    def records(self) -> Iterator[object]:
        rooms: set[str] = set()
        last_seq: dict[str, int] = {}
        number = 0
        try:
            with self.path.open("rb") as lines:
                for number, line in enumerate(lines, start=1):
                    where = f"{self.path} line {number}"
                    data = _line(line, where)
                    if number == 1:
                        _check_header(data, where)
                        continue
                    record = self._parse(data, where)
                    if isinstance(record, RoomRecord):
                        rooms.add(record.name)
                    elif isinstance(record, Message):
                        if record.room not in rooms:
                            raise CommandError(f"{where}: message of room {record.room!r} before that room's record")
                        if record.seq <= last_seq.get(record.room, 0):
                            raise CommandError(f"{where}: room {record.room!r}'s messages are not in seq order")
                        last_seq[record.room] = record.seq
                    yield record
                if number == 0:
                    raise CommandError(f"{self.path} is empty: it is not an export")
        except OSError as exc:
            raise CommandError(f"Cannot read {self.path}: {exc.strerror or exc}") from exc

    def _parse(self, data: dict[str, Any], where: str) -> object:
        kind = data.get("kind")
        parser = self.parsers.get(kind) if isinstance(kind, str) else None
        if parser is None:
            raise CommandError(
                f"{where}: records of kind {kind!r} cannot be imported by this version ({VERSION}); "
                "import the file with the release that exported it, or a newer one"
            )
        return parser(Fields(data, where))


def _line(line: bytes, where: str) -> dict[str, Any]:
    if len(line) > MAX_LINE_BYTES:
        raise CommandError(f"{where}: longer than {MAX_LINE_BYTES} bytes; this is not an export of ours")
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise CommandError(f"{where}: not a JSON object (each line of an export is one)") from None
    if not isinstance(data, dict):
        raise CommandError(f"{where}: not a JSON object (each line of an export is one)")
    return data


def _check_header(data: dict[str, Any], where: str) -> None:
    if data.get("kind") != HEADER:
        raise CommandError(f"{where}: not the header of a chatroom export; is this the right file?")
    if data.get("format") != FORMAT:
        raise CommandError(
            f"{where}: export format {data.get('format')!r}, but this version ({VERSION}) reads format {FORMAT}; "
            "import it with a newer release"
        )


@dataclass
class Fields:
    """One record's fields, each taken with its type checked; a complaint names the line and the field."""

    data: dict[str, Any]
    where: str

    def text(self, name: str, pattern: Any = None) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD_CHARS:
            raise CommandError(f"{self.where}: {name!r} must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            raise CommandError(f"{self.where}: {name!r} is not a valid room name: {value!r}")
        return value

    def number(self, name: str, low: int) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**63:
            raise CommandError(f"{self.where}: {name!r} must be a whole number of at least {low}")
        return value

    def time(self, name: str) -> datetime:
        value = self.data.get(name)
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise CommandError(f"{self.where}: {name!r} must be a UTC time like 2026-12-01T09:00:00.000000Z")
        return moment.replace(tzinfo=UTC)


def _parse_room(f: Fields) -> RoomRecord:
    return RoomRecord(f.text("name", ROOM_NAME), f.number("last_seq", 0), f.time("created_at"), f.time("active_at"))


def _parse_message(f: Fields) -> Message:
    room = f.text("room", ROOM_NAME)
    seq = f.number("seq", 1)
    return Message(room, seq, f.text("author"), f.text("author_id"), f.text("text"), f.time("sent_at"))


# Import


@dataclass
class Importer:
    """Reads `path` twice: first checking every line and every message against the store, then writing."""

    store: MessageStore
    path: Path
    counts: Counts = field(default_factory=Counts)
    _writing: bool = False

    async def run(self) -> Counts:
        await self._pass()  # writes nothing: a bad line or a conflicting message stops it here
        self._writing, self.counts = True, Counts()
        await self._pass()
        return self.counts

    async def _pass(self) -> None:
        rooms: list[RoomRecord] = []
        messages: list[Message] = []
        room_seqs: dict[str, int] = {}
        for record in Reader(self.path).records():
            if isinstance(record, RoomRecord):
                rooms.append(record)
                room_seqs[record.name] = record.last_seq
                if len(rooms) == PAGE:
                    await self._rooms(rooms)
            elif isinstance(record, Message):
                await self._rooms(rooms)  # a message's room is in the store before the message
                if messages and (messages[0].room != record.room or record.seq - messages[0].seq >= PAGE):
                    await self._messages(messages)
                messages.append(record)
        await self._rooms(rooms)
        await self._messages(messages)
        if self._writing:
            for room, seq in room_seqs.items():
                await self.store.restore_last_seq(room, seq)

    async def _rooms(self, rooms: list[RoomRecord]) -> None:
        if rooms and self._writing:
            await self.store.restore_rooms(rooms)
        self.counts.rooms += len(rooms)
        rooms.clear()

    async def _messages(self, batch: list[Message]) -> None:
        """One room's messages within PAGE `seq`s: the new ones are written; a different one already there stops all."""
        if not batch:
            return
        first = batch[0]
        there = {m.seq: m for m in await self.store.after(first.room, first.seq - 1, PAGE)}
        new = []
        for message in batch:
            existing = there.get(message.seq)
            if existing is None:
                new.append(message)
            elif existing != message:
                done = "the import stopped there" if self._writing else "nothing was imported"
                raise CommandError(
                    f"Room {message.room!r} already has a different message {message.seq} in this store "
                    f"(by {existing.author!r} at {_time(existing.sent_at)}); {done}. "
                    "Import into an empty store, or the one this export came from."
                )
        if new and self._writing:
            await self.store.restore_messages(new)
        self.counts.messages += len(new)
        self.counts.skipped += len(batch) - len(new)
        batch.clear()


async def import_file(store: MessageStore, path: Path) -> Counts:
    return await Importer(store, path).run()
