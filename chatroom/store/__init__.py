"""The message store: one interface, one implementation per database, chosen by URL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from chatroom.accounts.records import Account, Token

if TYPE_CHECKING:
    from chatroom.store.search import Found, SearchQuery

NameKeys = tuple[str, str, str]  # a name's `chatroom.names.NameKey`: folded, looks, looks_folded


# A log entry's kind: a new message, or a change to message `target`.
NEW, EDIT, DELETE, REACTIONS = "", "edit", "delete", "reactions"
Reactions = tuple[tuple[str, tuple[str, ...]], ...]  # (emoji, the uids who chose it), in the order first chosen


@dataclass(frozen=True, slots=True)
class Reaction:
    """One person's emoji on message `target`, for export and import."""

    room: str
    target: int
    emoji: str
    uid: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file of a message, as pages show it: its bytes are read only when someone opens it."""

    id: str  # random and unguessable, in its URL; reading it is still asked of the room's access
    name: str  # sanitised (chatroom.files.names)
    type: str  # the media type it is served with, decided from its bytes, never from the upload's claim
    size: int  # bytes
    width: int = 0  # an image's size in pixels (0 for other files); its thumbnail is at most THUMBNAIL across
    height: int = 0

    @property
    def is_image(self) -> bool:
        return self.width > 0


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file to store with a message: checked, and for an image re-encoded and thumbnailed, already."""

    attachment: Attachment
    data: bytes
    thumbnail: bytes = b""


@dataclass(frozen=True, slots=True)
class Quote:
    """The message a reply quotes, as it is now: read with the reply at every read, never kept with it, so a
    quote cannot show a text the store no longer has (edited away, or deleted)."""

    id: int
    author: str
    author_id: str
    text: str  # the start of its text (`QUOTED_CHARACTERS` at most), as typed; "" once deleted
    deleted: bool = False

    @classmethod
    def of(cls, message: Message) -> Quote:
        """Message `message.id` as a quote of it shows it now (the same as the store reads it with a reply)."""
        return cls(message.id, message.author, message.author_id, message.text[:QUOTED_CHARACTERS], message.deleted)


QUOTED_CHARACTERS = 300  # of a quoted message's text read with its reply: more than a quote shows


@dataclass(frozen=True, slots=True)
class Message:
    """An entry of a room's log, at place `seq`: a new message, or (`kind`) a change to message `target`.

    Either way the fields say how the message is now (its author, text, marks and reactions), so any
    entry, delivered or replayed, brings a client to the message's current state.
    """

    room: str
    seq: int
    author: str
    author_id: str
    text: str  # "" once deleted: the text is gone from the store
    sent_at: datetime
    target: int = 0  # the message a change is about; 0 for a new message (it is message `seq`)
    kind: str = NEW
    edited: bool = False
    deleted: bool = False
    reactions: Reactions = ()
    files: tuple[Attachment, ...] = ()
    reply_to: int = 0  # the id of the message (of the same room) this one replies to; 0 for none
    quote: Quote | None = None  # that message as it is now; None when it is not known or not read

    @property
    def id(self) -> int:
        """The message's id (its `msg-{id}`): the place where it was first written."""
        return self.target or self.seq

    def current(self) -> Message:
        """The message itself, as it is now, in its own place (what a change entry is about)."""
        return Message(
            self.room,
            self.id,
            self.author,
            self.author_id,
            self.text,
            self.sent_at,
            edited=self.edited,
            deleted=self.deleted,
            reactions=self.reactions,
            files=self.files,
            reply_to=self.reply_to,
            quote=self.quote,
        )


@dataclass(frozen=True, slots=True)
class RoomInfo:
    name: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room as the store keeps it, for export and import."""

    name: str
    last_seq: int
    created_at: datetime
    active_at: datetime


# How a room counts as unread for a person: every message, only the messages that mention them, or not at all.
NOTIFY_ALL, NOTIFY_MENTIONS, NOTIFY_MUTE = "all", "mentions", "mute"
NOTIFY_LEVELS = (NOTIFY_ALL, NOTIFY_MENTIONS, NOTIFY_MUTE)


@dataclass(frozen=True, slots=True)
class Reading:
    """A person's place in a room they opened (or were given): what they have not read there since."""

    room: str
    seq: int  # the last `seq` they read
    notify: str  # one of NOTIFY_LEVELS
    last_seq: int  # the room's last `seq` when this was read: messages up to it are in the counts
    unread: int  # messages after `seq` by others, not deleted (at most the store's cap)
    mentions: int  # of those, the ones that mention them


@dataclass(frozen=True, slots=True)
class RoomActivity:
    """A room on the "browse rooms" page: when it was last written in."""

    name: str
    last_seq: int
    active_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    uid: str
    name: str


@dataclass(frozen=True, slots=True)
class PrivateRoom:
    """A room only its members may know: a private room (its `title` chosen by its creator), or a direct
    conversation between the two accounts of `pair` ("uid uid", sorted)."""

    name: str
    title: str
    pair: str | None
    members: tuple[Member, ...]  # each an account: its id and its name now, by name
    created_by: str = ""  # the account that made it (a direct conversation: whichever of the two opened it first)

    @property
    def direct(self) -> bool:
        return self.pair is not None

    def has(self, uid: str) -> bool:
        return any(m.uid == uid for m in self.members)


@dataclass(frozen=True, slots=True)
class Conversation:
    """A private room or direct conversation of one person's, for their list: what it is called for them (a
    direct conversation by the other person's name) and its last message."""

    room: str
    title: str
    direct: bool
    last_seq: int
    active_at: int


class MessageStore(Protocol):
    async def open(self, migrate: bool = True) -> None:
        """Connect, and with `migrate` bring the schema up to date (the server does; a command that only
        reads does not). Without it, a SQLite file that does not exist is a CommandError, not a new store."""

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

    async def append(
        self,
        room: str,
        author: str,
        author_id: str,
        text: str,
        nonce: str | None = None,
        files: Sequence[NewFile] = (),
        reply_to: int = 0,
    ) -> Message:
        """Store a message under the room's next `seq` (gapless in commit order), creating the room if new,
        with its `files` in the same transaction: all of it is stored, or none.

        With a `nonce` (the sender's one-time token), a message the same sender stored with it already is
        returned instead: a retried send is stored once. A `reply_to` (a message of the room, which the caller
        checked) is stored with it, and the message comes back with its `quote` read after the commit."""

    async def message(self, room: str, id: int) -> Message | None:
        """Message `id` as it is now (with its reactions); None if the room has no such message.

        Every read of messages (this one, the log, pages, search) gives a reply's `quote` as the quoted
        message is now."""

    async def edit(self, room: str, id: int, author_id: str, text: str) -> Message | None:
        """Replace the text of message `id` of `author_id` (not deleted), as the log's next entry; that entry,
        or None when there is no such message of theirs."""

    async def delete(self, room: str, id: int) -> Message | None:
        """Remove message `id`'s text and reactions (kept: that a message was there), as the log's next entry."""

    async def react(self, room: str, id: int, uid: str, emoji: str, most: int) -> Message | None:
        """Add the person's `emoji` to message `id`, or take it back if it was there, as the log's next entry;
        None when the message is gone, or already has `most` different emoji and this is another."""

    async def log_after(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` log entries after `seq` (new messages and changes), in log order."""

    async def messages_of(self, author_id: str, limit: int) -> list[tuple[str, int]]:
        """(room, id) of up to `limit` messages of `author_id` not deleted yet."""

    async def old_messages(self, before: int, limit: int, room: str | None = None) -> list[tuple[str, int]]:
        """(room, id) of up to `limit` messages sent before `before`, not deleted yet: in `room`, or (None) in
        every room without a number of days of its own, oldest first."""

    async def room_retention(self) -> dict[str, int]:
        """The rooms with a number of days of their own (0: kept forever)."""

    async def set_room_retention(self, room: str, days: int | None) -> None:
        """A room's own number of days (None: as every room, RETENTION_DAYS)."""

    async def epoch(self) -> str:
        """The log's epoch: made with the database, made anew in a backup (restoring one forks the log)."""

    async def record_moderation(self, at: int, by: str, action: str, target: str, detail: str) -> None: ...

    async def moderation_log(self, limit: int) -> list[tuple[int, str, str, str, str]]:
        """The latest moderation actions, newest first: (at, by, action, target, detail)."""

    async def latest(self, room: str, limit: int) -> list[Message]:
        """The room's newest messages, oldest first."""

    async def before(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages with a smaller `seq`, the nearest ones, oldest first."""

    async def after(self, room: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages with a larger `seq`, the nearest ones, oldest first (messages only: see
        `log_after` for the changes too)."""

    async def last_seq(self, room: str) -> int: ...

    async def file(self, file_id: str, thumbnail: bool = False) -> tuple[str, Attachment, bytes] | None:
        """A file's room, its attachment and its bytes (or its thumbnail's); None if there is no such file."""

    async def search(self, query: SearchQuery, before: int | None, limit: int) -> list[Found]:
        """Up to `limit` messages with every word of `query` (and its room and author, if it names them),
        newest first, below position `before` (None: from the newest)."""

    # Private rooms and direct conversations (names starting with `chatroom.rooms.access.PRIVATE`): who may know
    # them. Their rooms are never listed by `rooms` nor expired by `expire_rooms`.

    async def create_private_room(self, name: str, title: str, creator: str, now: int) -> bool:
        """Make private room `name` with its creator as its first member; False (nothing made) if `name` is taken."""

    async def direct_room(self, pair: tuple[str, str], name: str, now: int) -> str:
        """The direct conversation of the two accounts of `pair`: made as `name` with both as members if they
        have none yet, in one transaction. Concurrent first uses, in any process, get the same room."""

    async def private_room(self, name: str) -> PrivateRoom | None:
        """The private room (or direct conversation) called `name` with its members; None when there is none."""

    async def add_member(self, room: str, uid: str, now: int) -> bool:
        """Add account `uid` to private room `room`; False if it was a member already or there is no such room."""

    async def remove_member(self, room: str, uid: str) -> bool:
        """False if `uid` was not a member."""

    async def conversations(self, uid: str, limit: int) -> list[Conversation]:
        """Up to `limit` of the person's private rooms and direct conversations, the latest active first."""

    async def private_rooms(self, after: str, limit: int) -> list[PrivateRoom]:
        """For export: up to `limit` private rooms whose names sort after `after` (by code point), in that order."""

    async def restore_private_rooms(self, rooms: list[PrivateRoom]) -> None:
        """For import: make the private rooms that are missing (their `rooms` rows too) and add their members."""

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

    # Unread counts of accounts: their place in each room they opened, and who each message mentions
    # (`chatroom.mentions`, stored with the message).

    async def readings(self, account: str, name: str, limit: int, cap: int) -> list[Reading]:
        """The account's places in up to `limit` rooms, the most recently opened first, with the messages
        by others after each (and those that mention `name`, a `chatroom.mentions.mention_key`), up to `cap`
        of each counted: a read of at most `limit` * `cap` rows along indexes, however long they were away."""

    async def readings_of(self, people: Sequence[tuple[str, str]], limit: int, cap: int) -> list[list[Reading]]:
        """`readings` of each (account, name) of `people`, in that order, in one go: for a storm of signed-in
        arrivals, one hand-off to SQLite's thread, or one of PostgreSQL's pooled connections taken once."""

    async def mark_rooms_read(self, entries: list[tuple[str, str, int]], now: int) -> None:
        """(account, room, seq): the account read the room up to `seq` (places never move back) at `now`; a
        room they had no place in becomes one of theirs (seq 0: everything in it counts as unread). A room
        that does not exist is left out."""

    async def set_notify(self, account: str, room: str, notify: str, now: int) -> None:
        """The account's choice of NOTIFY_LEVELS for the room (if the room exists)."""

    async def public_rooms(self, limit: int, offset: int) -> list[RoomActivity]:
        """Rooms written in, the most recently active first, from place `offset`."""

    # Accounts: unique names (by every part of their `NameKey`), server-side sessions, and tokens kept as a
    # hash of their secret. A bot's token is a session of the bot's that does not expire.

    async def time_zone(self, account: str) -> str | None:
        """The time zone the account chose (an IANA name), or None: it never chose one."""

    async def set_time_zone(self, account: str, zone: str) -> None: ...

    async def create_account(self, new: Account, key: NameKeys) -> bool:
        """Add the account; False (nothing added) when its name or a look-alike is taken."""

    async def account(self, id: str) -> Account | None: ...

    async def account_by_name(self, folded: str) -> Account | None:
        """The account whose name, case-folded, is `folded`."""

    async def name_holder(self, key: NameKeys) -> tuple[str, str] | None:
        """(id, name) of the account whose name is the one of `key` or looks like it."""

    async def accounts(self, limit: int, offset: int = 0) -> list[Account]:
        """Accounts, people and bots, by name."""

    async def count_admins(self) -> int:
        """Active administrators."""

    async def set_role(self, id: str, role: str) -> bool: ...

    async def set_active(self, id: str, active: bool) -> bool: ...

    async def set_password(self, id: str, password_hash: str) -> bool:
        """A person's new password hash (a bot has none); False when there is no such person."""

    async def rename_account(self, id: str, name: str, key: NameKeys) -> bool:
        """False (nothing changed) when another account holds the name or a look-alike."""

    async def create_session(self, id: str, account: str, created_at: int, expires_at: int) -> None: ...

    async def sessions(self, ids: Sequence[str], now: int) -> dict[str, Account]:
        """The live sessions among `ids` (of active accounts), each with its account; in few queries."""

    async def end_session(self, id: str) -> None: ...

    async def end_sessions(self, account: str, keep: str = "") -> list[str]:
        """End every session of `account` but `keep`; the ids ended."""

    async def expire_sessions(self, now: int) -> int:
        """Delete the sessions expired at `now`; how many."""

    async def create_token(self, hash: str, new: Token) -> None: ...

    async def token(self, hash: str, now: int) -> Token | None:
        """The unexpired token whose secret hashes to `hash` (used up or not)."""

    async def use_token(self, hash: str, kind: str, now: int) -> Token | None:
        """Take one use of the token, atomically; None when it is unknown, of another kind, used up or expired."""

    async def give_back_token(self, hash: str) -> None:
        """Return a use taken by `use_token` for something that then failed."""

    async def tokens(self, kind: str, now: int, limit: int) -> list[Token]:
        """The usable tokens of `kind`, newest first."""

    async def revoke_token(self, id: str, kind: str) -> bool: ...

    async def end_tokens(self, account: str, kind: str) -> int:
        """Delete the tokens of `kind` that act for `account` (its reset links); how many."""

    async def expire_tokens(self, now: int) -> int:
        """Delete the tokens expired at `now` or used up; how many."""

    # Operations (the console's backup, export, import and --check; never on a visitor's path).

    async def migration_level(self) -> int:
        """How many of the schema's migrations the database has run."""

    async def backup(self, path: str) -> None:
        """A consistent copy of the whole store in a new file at `path`, while others keep writing.
        Raises CommandError where the database has its own tool for that (PostgreSQL: pg_dump)."""

    async def room_records(self, after: str, limit: int) -> list[RoomRecord]:
        """Up to `limit` rooms whose names sort after `after` (by code point), in that order."""

    async def restore_rooms(self, rooms: list[RoomRecord]) -> None:
        """Create the rooms that are missing, empty; a room that exists keeps its earliest `created_at` and
        latest `active_at`. No `last_seq` moves: the log raises it (`restore_log`, `restore_last_seq`)."""

    async def restore_log(self, entries: list[Message], reactions: list[Reaction]) -> None:
        """In one transaction: each log entry under its own `seq` unless that `seq` is taken (a new message as
        it is now, edited or deleted; a change by its `kind` and `target`), each reaction unless it is there,
        and each room's `last_seq` raised to its highest entry. The rooms must exist."""

    async def restore_last_seq(self, room: str, seq: int) -> None:
        """Raise the room's `last_seq` to `seq` (never lowers it)."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    """Now, in the store's unit of time: microseconds since the epoch."""
    return int(time.time() * 1_000_000)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def to_us(moment: datetime) -> int:
    """A time in the store's unit, exactly (no trip through a float, which can lose the last microsecond)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def open_store(url: str) -> MessageStore:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from chatroom.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("postgres", "postgresql"):
        from chatroom.store.postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]

        return PostgresStore(url)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"no message store for {url!r}")
