"""Export and import: a community as JSON Lines, to keep, to read, or to move to another store.

The file is one JSON object per line. The first is the header, then one record per line, each
saying its `kind`:

    {"kind": "chatroom-export", "format": 1, "version": "0.1.0", "exported_at": "2026-12-01T09:00:00.000000Z"}
    {"kind": "account", "id": "a…", "name": "Ada", "role": "admin", "active": true, "created_at": "…Z"}
    {"kind": "room", "name": "lobby", "last_seq": 4, "created_at": "…Z", "active_at": "…Z"}
    {"kind": "message", "room": "lobby", "seq": 1, "author": "ada", "author_id": "…", "text": "hi",
     "sent_at": "…Z", "edited": true, "deleted": false}
    (a reply also has "reply_to": the id of the message of its room it answers; its quote is never copied)
    {"kind": "reaction", "room": "lobby", "message": 1, "emoji": "👍", "uid": "…"}
    {"kind": "change", "room": "lobby", "seq": 2, "message": 1, "change": "edit"}
    {"kind": "private_room", "name": "_0a1b…", "title": "plans", "pair": null, "members": ["a…", "a…"],
     "created_by": "a…"}

Every room comes before its log. A private room's (or a direct conversation's) record, with its members'
account ids, comes after its room's record and before any log, so the room is never imported without who
may read it. A room's log follows in `seq` order: each message as it is now (a deleted one has no text: it
is gone from the store, and so from every export), its reactions right after it, and each change (an edit,
a deletion, a reaction) that took a place in the log, by what it
changed. Accounts come first (a whole export only, not one room's): their names, roles and whether
they are active, never a password hash or a session, so an imported person signs in again after an
administrator's reset link. Later releases add what they keep as records of new kinds, placed where
their import needs them, and `format` moves only for a change that an older reader would misread.
An importer refuses a kind it does not know, naming it: a community is never half moved without
anyone noticing.

Import keeps every room's `seq`, so permalinks and clients' positions stay true, and is idempotent:
an entry already there (the same message, or the same change, under its `seq`) is skipped, and so is
a reaction, so importing twice adds nothing. A *different* entry under a taken `seq` stops the import
before it writes anything; the whole file is read and checked first, so a bad line writes nothing
either. Import into a store that no running server writes to (messages posted meanwhile could take
the imported `seq`s).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from re import Pattern
from typing import Any, TextIO

import orjson

from chatroom.accounts.records import ROLES, Account
from chatroom.errors import CommandError, Refused
from chatroom.names import chosen_name, key
from chatroom.rooms.access import is_private
from chatroom.store import (
    DELETE,
    EDIT,
    NEW,
    REACTIONS,
    Member,
    Message,
    MessageStore,
    PrivateRoom,
    Reaction,
    RoomRecord,
)
from chatroom.validation import ROOM_NAME
from chatroom.version import VERSION

HEADER = "chatroom-export"
FORMAT = 1
PAGE = 500  # rows per store read or write
MAX_LINE_BYTES = 1 << 20  # far above any record this release writes; a longer line is not an export of ours
MAX_FIELD_CHARS = 100_000  # a name or a text (the source may have allowed longer messages than this server does)
CHANGES = (EDIT, DELETE, REACTIONS)

MAX_MEMBERS = 10_000  # of one private room in a file: far above what a server lets a room have
Record = RoomRecord | Message | Reaction | Account | PrivateRoom


@dataclass
class Counts:
    accounts: int = 0
    rooms: int = 0
    messages: int = 0
    changes: int = 0
    reactions: int = 0
    skipped: int = 0  # log entries already in the store
    private_rooms: int = 0

    def __str__(self) -> str:
        return (
            f"accounts={self.accounts} rooms={self.rooms} messages={self.messages} changes={self.changes} "
            f"reactions={self.reactions} already_there={self.skipped} private_rooms={self.private_rooms}"
        )


# Export


async def export(store: MessageStore, out: TextIO, room: str | None = None) -> Counts:
    """Write the header, the rooms (or only `room`), then each one's log, to `out`."""
    counts = Counts()
    _write(out, {"kind": HEADER, "format": FORMAT, "version": VERSION, "exported_at": _time(datetime.now(UTC))})
    if room is None:
        offset = 0
        while accounts := await store.accounts(PAGE, offset):
            for account in accounts:
                _write(out, _account_record(account))
                counts.accounts += 1
            offset += len(accounts)
    names = []
    async for record in _rooms(store):
        if room is None or record.name == room:
            _write(out, _room_record(record))
            names.append(record.name)
    if room is not None and not names:
        raise CommandError(f"There is no room {room!r} to export.")
    for name in names:
        private = await store.private_room(name) if is_private(name) else None
        if private is not None:
            _write(out, _private_record(private))
            counts.private_rooms += 1
    for name in names:
        counts.rooms += 1
        seq = 0
        while page := await store.log_after(name, seq, PAGE):
            for entry in page:
                if entry.kind == NEW:
                    _write(out, _message_record(entry))
                    for emoji, uids in entry.reactions:
                        for uid in uids:
                            _write(
                                out,
                                {"kind": "reaction", "room": name, "message": entry.seq, "emoji": emoji, "uid": uid},
                            )
                            counts.reactions += 1
                    counts.messages += 1
                else:
                    _write(
                        out,
                        {
                            "kind": "change",
                            "room": name,
                            "seq": entry.seq,
                            "message": entry.target,
                            "change": entry.kind,
                        },
                    )
                    counts.changes += 1
            seq = page[-1].seq
    return counts


async def _rooms(store: MessageStore) -> AsyncIterator[RoomRecord]:
    after = ""
    while page := await store.room_records(after, PAGE):
        for record in page:
            yield record
        after = page[-1].name


def _account_record(account: Account) -> dict[str, Any]:
    created = datetime.fromtimestamp(account.created_at / 1_000_000, UTC)
    return {
        "kind": "account",
        "id": account.id,
        "name": account.name,
        "role": account.role,
        "active": account.active,
        "created_at": _time(created),
    }


def _private_record(room: PrivateRoom) -> dict[str, Any]:
    return {
        "kind": "private_room",
        "name": room.name,
        "title": room.title,
        "pair": room.pair,
        "members": [m.uid for m in room.members],
        "created_by": room.created_by,
    }


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
        "edited": m.edited,
        "deleted": m.deleted,
        **({"reply_to": m.reply_to} if m.reply_to else {}),
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
        self.parsers: dict[str, Callable[[Fields], Record]] = {
            "account": _parse_account,
            "room": _parse_room,
            "message": _parse_message,
            "change": _parse_change,
            "reaction": _parse_reaction,
            "private_room": _parse_private_room,
        }

    def records(self) -> Iterator[Record]:
        rooms: set[str] = set()
        last_seq: dict[str, int] = {}  # the place of each room's last entry so far
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
                    if isinstance(record, Account):
                        if rooms:
                            raise CommandError(f"{where}: an account after the rooms (accounts come first)")
                        yield record
                        continue
                    if isinstance(record, RoomRecord):
                        rooms.add(record.name)
                        yield record
                        continue
                    if isinstance(record, PrivateRoom):
                        if record.name not in rooms or record.name in last_seq:
                            raise CommandError(
                                f"{where}: a private room's record belongs after its room's, before its log"
                            )
                        yield record
                        continue
                    if record.room not in rooms:
                        raise CommandError(f"{where}: an entry of room {record.room!r} before that room's record")
                    if isinstance(record, Reaction):
                        if record.target > last_seq.get(record.room, 0):
                            raise CommandError(f"{where}: a reaction to message {record.target} before that message")
                    elif record.seq <= last_seq.get(record.room, 0):
                        raise CommandError(f"{where}: room {record.room!r}'s log is not in seq order")
                    else:
                        last_seq[record.room] = record.seq
                    yield record
                if number == 0:
                    raise CommandError(f"{self.path} is empty: it is not an export")
        except OSError as exc:
            raise CommandError(f"Cannot read {self.path}: {exc.strerror or exc}") from exc

    def _parse(self, data: dict[str, Any], where: str) -> Record:
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

    def text(self, name: str, pattern: Pattern[str] | None = None, empty: bool = False) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS or not (value or empty):
            raise CommandError(f"{self.where}: {name!r} must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            raise CommandError(f"{self.where}: {name!r} is not a valid room name: {value!r}")
        return value

    def number(self, name: str, low: int) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**63:
            raise CommandError(f"{self.where}: {name!r} must be a whole number of at least {low}")
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            raise CommandError(f"{self.where}: {name!r} must be true or false")
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.data.get(name)
        if value not in choices:
            raise CommandError(f"{self.where}: {name!r} must be one of {', '.join(choices)}")
        return str(value)

    def time(self, name: str) -> datetime:
        value = self.data.get(name)
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise CommandError(f"{self.where}: {name!r} must be a UTC time like 2026-12-01T09:00:00.000000Z")
        return moment.replace(tzinfo=UTC)


ACCOUNT_ID = re.compile(r"[ab][0-9a-f]{16}")


def _parse_account(f: Fields) -> Account:
    id = f.text("id")
    if not ACCOUNT_ID.fullmatch(id):
        raise CommandError(f"{f.where}: 'id' is not an account's id: {id!r}")
    try:
        name = chosen_name(f.text("name"))
    except Refused as refused:
        raise CommandError(f"{f.where}: 'name': {refused.detail}") from None
    created = int(f.time("created_at").timestamp() * 1_000_000)
    return Account(id, name, f.choice("role", ROLES), f.flag("active"), "", created)


def _parse_room(f: Fields) -> RoomRecord:
    return RoomRecord(f.text("name", ROOM_NAME), f.number("last_seq", 0), f.time("created_at"), f.time("active_at"))


def _parse_message(f: Fields) -> Message:
    room, seq, author, author_id = f.text("room", ROOM_NAME), f.number("seq", 1), f.text("author"), f.text("author_id")
    deleted = f.flag("deleted")
    text = f.text("text", empty=deleted)
    if deleted and text:
        raise CommandError(f"{f.where}: a deleted message has no text")
    reply_to = f.number("reply_to", 1) if "reply_to" in f.data else 0
    sent_at, edited = f.time("sent_at"), f.flag("edited")
    return Message(room, seq, author, author_id, text, sent_at, edited=edited, deleted=deleted, reply_to=reply_to)


def _parse_change(f: Fields) -> Message:
    room, seq, target, kind = (
        f.text("room", ROOM_NAME),
        f.number("seq", 2),
        f.number("message", 1),
        f.choice("change", CHANGES),
    )
    if target >= seq:
        raise CommandError(f"{f.where}: a change is about an earlier message; {target} is not before {seq}")
    return Message(room, seq, "", "", "", datetime.fromtimestamp(0, UTC), target=target, kind=kind)


def _parse_private_room(f: Fields) -> PrivateRoom:
    name = f.text("name", ROOM_NAME)
    if not is_private(name):
        raise CommandError(f"{f.where}: 'name' is not a private room's name: {name!r}")
    members = f.data.get("members")
    if not isinstance(members, list) or len(members) > MAX_MEMBERS:
        raise CommandError(f"{f.where}: 'members' must be a list of account ids")
    for uid in members:
        if not isinstance(uid, str) or not ACCOUNT_ID.fullmatch(uid):
            raise CommandError(f"{f.where}: 'members' holds something that is not an account's id: {uid!r}")
    pair = f.data.get("pair")
    if pair is not None and (
        not isinstance(pair, str) or sorted(pair.split(" ")) != sorted(members) or len(members) > 2
    ):
        raise CommandError(f"{f.where}: 'pair' must be null, or a direct conversation's members' ids")
    title = f.text("title", empty=True)
    if (pair is None and not ROOM_NAME.fullmatch(title)) or (pair is not None and title):
        raise CommandError(f"{f.where}: 'title' must be a room name (a direct conversation has none): {title!r}")
    created_by = f.data.get("created_by", "")  # not in exports made before it was kept
    if not isinstance(created_by, str) or (created_by and not ACCOUNT_ID.fullmatch(created_by)):
        raise CommandError(f"{f.where}: 'created_by' must be an account's id: {created_by!r}")
    return PrivateRoom(name, title, pair, tuple(Member(uid, "") for uid in members), created_by)


def _parse_reaction(f: Fields) -> Reaction:
    return Reaction(f.text("room", ROOM_NAME), f.number("message", 1), f.text("emoji"), f.text("uid"))


# Import


@dataclass
class Importer:
    """Reads `path` twice: first checking every line and every entry against the store, then writing."""

    store: MessageStore
    path: Path
    counts: Counts = field(default_factory=Counts)
    _writing: bool = False
    _entries: list[Message] = field(default_factory=list)
    _reactions: list[Reaction] = field(default_factory=list)

    async def run(self) -> Counts:
        await self._pass()  # writes nothing: a bad line or a conflicting entry stops it here
        self._writing, self.counts = True, Counts()
        await self._pass()
        return self.counts

    async def _pass(self) -> None:
        rooms: list[RoomRecord] = []
        room_seqs: dict[str, int] = {}
        for record in Reader(self.path).records():
            if isinstance(record, Account):
                await self._account(record)
                continue
            if isinstance(record, PrivateRoom):
                await self._rooms(rooms)
                if self._writing:
                    await self.store.restore_private_rooms([record])
                self.counts.private_rooms += 1
                continue
            if isinstance(record, RoomRecord):
                rooms.append(record)
                room_seqs[record.name] = record.last_seq
                if len(rooms) == PAGE:
                    await self._rooms(rooms)
                continue
            await self._rooms(rooms)  # a room is in the store before its log
            if isinstance(record, Reaction):
                self._reactions.append(record)  # with its message, which is in this batch: it came just before
                continue
            first = self._entries[0] if self._entries else None
            if first is not None and (first.room != record.room or record.seq - first.seq >= PAGE):
                await self._log()
            self._entries.append(record)
        await self._rooms(rooms)
        await self._log()
        if self._writing:
            for room, seq in room_seqs.items():
                await self.store.restore_last_seq(room, seq)

    async def _account(self, account: Account) -> None:
        """An account, with no password (its person signs in after a reset link); one whose id is there already is
        skipped, and one whose name another account holds stops the import."""
        there = await self.store.account(account.id)
        if there is not None:
            self.counts.skipped += 1
            return
        k = key(account.name)
        holder = await self.store.name_holder((k.folded, k.looks, k.looks_folded))
        if holder is not None:
            done = "the import stopped there" if self._writing else "nothing was imported"
            raise CommandError(
                f"The account {account.name!r} ({account.id}) has the name of another account here "
                f"({holder[1]!r}, {holder[0]}); {done}."
            )
        if self._writing:
            await self.store.create_account(account, (k.folded, k.looks, k.looks_folded))
        self.counts.accounts += 1

    async def _rooms(self, rooms: list[RoomRecord]) -> None:
        if rooms and self._writing:
            await self.store.restore_rooms(rooms)
        self.counts.rooms += len(rooms)
        rooms.clear()

    async def _log(self) -> None:
        """One room's entries within PAGE `seq`s, and their reactions: what is new is written; a different
        entry already there stops everything."""
        if not self._entries:
            return
        first = self._entries[0]
        there = {e.seq: e for e in await self.store.log_after(first.room, first.seq - 1, PAGE)}
        new = []
        for entry in self._entries:
            existing = there.get(entry.seq)
            if existing is None:
                new.append(entry)
            elif _key(existing) != _key(entry):
                done = "the import stopped there" if self._writing else "nothing was imported"
                raise CommandError(
                    f"Room {entry.room!r} already has a different entry {entry.seq} in this store "
                    f"({_describe(existing)}); {done}. Import into an empty store, or the one this export came from."
                )
        if self._writing and (new or self._reactions):
            await self.store.restore_log(new, self._reactions)
        self.counts.messages += sum(1 for e in new if e.kind == NEW)
        self.counts.changes += sum(1 for e in new if e.kind != NEW)
        self.counts.reactions += len(self._reactions)
        self.counts.skipped += len(self._entries) - len(new)
        self._entries.clear()
        self._reactions.clear()


def _key(entry: Message) -> tuple[object, ...]:
    """What makes two entries under one `seq` the same: a message as it is now, or a change by what it changed."""
    if entry.kind != NEW:
        return (entry.kind, entry.target)
    return (NEW, entry.author, entry.author_id, entry.text, entry.sent_at, entry.edited, entry.deleted, entry.reply_to)


def _describe(entry: Message) -> str:
    if entry.kind != NEW:
        return f"a change ({entry.kind}) of message {entry.target}"
    return f"a message by {entry.author!r} at {_time(entry.sent_at)}"


async def import_file(store: MessageStore, path: Path) -> Counts:
    return await Importer(store, path).run()
