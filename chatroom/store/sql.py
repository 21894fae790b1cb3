"""What the SQLite and PostgreSQL stores share: the schema, every statement, and the logic around them.

Both stores hold the same tables with the same meaning, so the migrations and queries are written
once. Where the dialects differ in text, a `Dialect` names the difference (column type, table option,
collation, placeholder style); what differs in kind stays in each store: how it connects, runs a
statement, translates errors, records the schema version, and the transaction that makes `seq` gapless.
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, replace
from typing import Any, ClassVar, TypeAlias

from chatroom.accounts.records import Account, Token
from chatroom.mentions import mentioned
from chatroom.store import (
    DELETE,
    EDIT,
    NEW,
    QUOTED_CHARACTERS,
    REACTIONS,
    Attachment,
    Member,
    Message,
    NameKeys,
    NewFile,
    Quote,
    Reaction,
    Reading,
    RoomActivity,
    RoomInfo,
    RoomRecord,
    from_us,
    now_us,
    search,
    to_us,
)
from chatroom.store.group_commit import GroupCommit, ThreadGroupCommit
from chatroom.store.private import MIGRATION as PRIVATE_ROOMS
from chatroom.store.private import PrivateRoomsStore

Row: TypeAlias = Sequence[Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    integer: str  # a 64-bit integer column
    without_rowid: str  # after a table whose primary key is its only index
    binary: str  # orders text by code point, which SQLite always does
    numbered: bool  # placeholders are asyncpg's $1, $2, … rather than sqlite3's ?
    now: str  # the current time in microseconds since the epoch, for migrations (queries are given it)
    random_id: str  # 16 random hex digits
    name: str  # which database: a migration that differs in kind (`PerDialect`) has a script for each
    blob: str  # a column of bytes


SQLITE = Dialect(
    integer="INTEGER",
    without_rowid=" WITHOUT ROWID",
    binary="",
    numbered=False,
    now="CAST(strftime('%s', 'now') AS INTEGER) * 1000000",
    random_id="lower(hex(randomblob(8)))",
    name="sqlite",
    blob="BLOB",
)
POSTGRES = Dialect(
    integer="BIGINT",
    without_rowid="",
    binary=' COLLATE "C"',
    numbered=True,
    now="CAST(extract(epoch FROM now()) AS BIGINT) * 1000000",
    random_id="substr(md5(random()::text || clock_timestamp()::text), 1, 16)",
    name="postgres",
    blob="BYTEA",
)


@dataclass(frozen=True, slots=True)
class PerDialect:
    """A migration whose SQL differs in kind between the databases (full-text search), not only in words."""

    sqlite: str
    postgres: str


FILES = """
    CREATE TABLE files (
        id TEXT PRIMARY KEY,
        room TEXT NOT NULL,
        seq {integer} NOT NULL,
        position {integer} NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        size {integer} NOT NULL,
        width {integer} NOT NULL,
        height {integer} NOT NULL,
        data {blob} NOT NULL,
        thumbnail {blob} NOT NULL,
        FOREIGN KEY (room, seq) REFERENCES messages (room, seq) ON DELETE CASCADE
    );
    CREATE INDEX files_by_message ON files (room, seq, position);
    """
# A deleted message keeps its row (its place in the log) but not its text, nor its files.
FILES_DELETED_SQLITE = """
    CREATE TRIGGER message_files_deleted AFTER UPDATE OF deleted ON messages WHEN new.deleted <> 0 BEGIN
        DELETE FROM files WHERE room = new.room AND seq = new.seq;
    END;
"""
FILES_DELETED_POSTGRES = """
    CREATE FUNCTION message_files_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM files WHERE room = NEW.room AND seq = NEW.seq;
        RETURN NULL;
    END $$;
    CREATE TRIGGER message_files_deleted AFTER UPDATE OF deleted ON messages
        FOR EACH ROW WHEN (NEW.deleted <> 0) EXECUTE FUNCTION message_files_deleted();
"""


WORDS_AT_COMMIT = PerDialect(sqlite=search.SQLITE_WORDS_AT_COMMIT, postgres="")

# Append only: a database at version N has run the first N, and never runs them again.
MIGRATIONS: list[str | PerDialect] = [
    """
    CREATE TABLE rooms (
        name TEXT PRIMARY KEY,
        last_seq {integer} NOT NULL DEFAULT 0,
        created_at {integer} NOT NULL,
        active_at {integer} NOT NULL
    );
    CREATE INDEX rooms_by_activity ON rooms (active_at DESC);
    CREATE TABLE messages (
        room TEXT NOT NULL REFERENCES rooms (name),
        seq {integer} NOT NULL,
        author TEXT NOT NULL,
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        sent_at {integer} NOT NULL,
        PRIMARY KEY (room, seq)
    ){without_rowid};
    """,
    """
    CREATE TABLE presence (
        room TEXT NOT NULL,
        uid TEXT NOT NULL,
        process TEXT NOT NULL,
        name TEXT NOT NULL,
        expires_at {integer} NOT NULL,
        PRIMARY KEY (room, uid, process)
    ){without_rowid};
    CREATE INDEX presence_by_process ON presence (process);
    CREATE INDEX presence_by_uid ON presence (uid);
    CREATE INDEX presence_by_expiry ON presence (expires_at);
    CREATE TABLE read_markers (
        uid TEXT NOT NULL,
        room TEXT NOT NULL,
        seq {integer} NOT NULL,
        PRIMARY KEY (uid, room)
    ){without_rowid};
    """,
    # The room list ranks rooms by their last message, then the rooms never written in (which expire).
    """
    DROP INDEX rooms_by_activity;
    CREATE INDEX rooms_by_last_message ON rooms (active_at) WHERE last_seq > 0;
    CREATE INDEX rooms_never_written ON rooms (created_at) WHERE last_seq = 0;
    """,
    # Read markers say when they were last written, so those of people who never come back expire;
    # the ones already there count from the upgrade.
    """
    ALTER TABLE read_markers ADD COLUMN updated_at {integer} NOT NULL DEFAULT 0;
    UPDATE read_markers SET updated_at = {now};
    CREATE INDEX read_markers_by_age ON read_markers (updated_at);
    """,
    # Accounts hold their names everywhere: one name each, compared as `chatroom.names.NameKey` does
    # (`folded`, and `looks_folded`, the skeleton, is unique too: a look-alike is the same name). Sessions
    # and tokens keep a SHA-256 of their secret, never the secret.
    """
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        folded TEXT NOT NULL UNIQUE,
        looks TEXT NOT NULL,
        looks_folded TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        active {integer} NOT NULL DEFAULT 1,
        password_hash TEXT NOT NULL DEFAULT '',
        created_at {integer} NOT NULL
    );
    CREATE INDEX accounts_by_looks ON accounts (looks);
    CREATE INDEX accounts_by_role ON accounts (role, active);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        created_at {integer} NOT NULL,
        expires_at {integer} NOT NULL
    ){without_rowid};
    CREATE INDEX sessions_by_account ON sessions (account);
    CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        account TEXT REFERENCES accounts (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        uses_left {integer},
        created_by TEXT,
        created_at {integer} NOT NULL,
        expires_at {integer}
    );
    CREATE INDEX tokens_by_kind ON tokens (kind, created_at);
    CREATE INDEX tokens_by_account ON tokens (account);
    """,
    # Messages that change: an edit, a deletion or a reaction takes the room's next `seq` as a row of
    # `changes`, so the log (messages and changes by `seq`) replays in order. A message keeps its place;
    # a deleted one keeps no text. A sender's `nonce` is stored once.
    """
    ALTER TABLE messages ADD COLUMN edited_at {integer} NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN deleted {integer} NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN nonce TEXT;
    CREATE UNIQUE INDEX messages_by_nonce ON messages (author_id, nonce) WHERE nonce IS NOT NULL;
    CREATE INDEX messages_by_author ON messages (author_id);
    CREATE TABLE changes (
        room TEXT NOT NULL,
        seq {integer} NOT NULL,
        target {integer} NOT NULL,
        kind TEXT NOT NULL,
        at {integer} NOT NULL,
        PRIMARY KEY (room, seq)
    ){without_rowid};
    CREATE TABLE reactions (
        room TEXT NOT NULL,
        target {integer} NOT NULL,
        emoji TEXT NOT NULL,
        uid TEXT NOT NULL,
        at {integer} NOT NULL,
        PRIMARY KEY (room, target, emoji, uid)
    ){without_rowid};
    CREATE TABLE moderation (
        at {integer} NOT NULL,
        by_name TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX moderation_by_time ON moderation (at);
    """,
    # The log's epoch: a `since` or `Last-Event-ID` of another database (a new one, a restored backup)
    # must not be taken for a place in this one's log.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('epoch', {random_id});
    """,
    # Full-text search, kept in step with messages by triggers (chatroom/store/search.py).
    PerDialect(sqlite=search.SQLITE_INDEX, postgres=search.POSTGRES_INDEX),
    # Messages' files, bytes and all: in the database whichever it is, so every process reads them, a message
    # and its files are stored in one transaction, and deleting a message (its row, or its text) deletes them.
    PerDialect(sqlite=FILES + FILES_DELETED_SQLITE, postgres=FILES + FILES_DELETED_POSTGRES),
    # How long messages are kept: RETENTION_DAYS for every room, or a room's own number of days.
    """
    CREATE TABLE room_retention (room TEXT PRIMARY KEY, days {integer} NOT NULL);
    CREATE INDEX messages_by_time ON messages (sent_at) WHERE deleted = 0;
    """,
    # Replies: the id of the message (of the same room) a message answers, 0 for none. Its quote is read from
    # that message at every read (a join on the primary key), so it is never a copy of an old text.
    """
    ALTER TABLE messages ADD COLUMN reply_to {integer} NOT NULL DEFAULT 0;
    """,
    # The time zone an account reads times in (none: UTC); a guest's is only in their session cookie.
    """
    CREATE TABLE time_zones (
        account TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
        zone TEXT NOT NULL
    ){without_rowid};
    """,
    # Unread counts of accounts: each account's place in the rooms it opened (kept while it exists, unlike
    # the guests' `read_markers`), with its choice of what counts there; and who each message mentions,
    # written with the message (a change of its text rewrites them, a deletion removes them).
    """
    CREATE TABLE read_state (
        account TEXT NOT NULL,
        room TEXT NOT NULL,
        seq {integer} NOT NULL,
        notify TEXT NOT NULL DEFAULT 'all',
        visited_at {integer} NOT NULL,
        PRIMARY KEY (account, room)
    ){without_rowid};
    CREATE INDEX read_state_by_visit ON read_state (account, visited_at);
    CREATE TABLE mentions (
        name TEXT NOT NULL,
        room TEXT NOT NULL,
        seq {integer} NOT NULL,
        PRIMARY KEY (name, room, seq)
    ){without_rowid};
    CREATE INDEX mentions_by_message ON mentions (room, seq);
    """,
    # Private rooms and direct conversations, and their members (chatroom/store/private.py). Public lists read
    # the rooms whose names cannot be private ones along indexes of their own.
    PRIVATE_ROOMS,
    # PostgreSQL's search index with a small pending list (chatroom/store/search.py); SQLite's FTS5 has none.
    PerDialect(sqlite="", postgres=search.POSTGRES_INDEX_PENDING),
    # PostgreSQL's search rows name their author, for searches by one person (chatroom/store/search.py).
    PerDialect(sqlite="", postgres=search.POSTGRES_AUTHOR),
    # SQLite indexes a message's words at the commit of the transaction that stored it, not from its trigger.
    WORDS_AT_COMMIT,
]

# A message (`m`) with the message it replies to (`q`, when there is one) as that one is now: see `message`.
MESSAGE = (
    "m.room, m.seq, m.author, m.author_id, m.text, m.sent_at, m.edited_at, m.deleted, m.reply_to, "
    f"q.author, q.author_id, substr(q.text, 1, {QUOTED_CHARACTERS}), q.deleted"
)
QUOTED = "messages AS m LEFT JOIN messages AS q ON q.room = m.room AND q.seq = m.reply_to"
ACCOUNT = "id, name, role, active, password_hash, created_at"
SESSION_BATCH = 64  # sessions looked up by one query
TOKEN = "id, kind, account, role, uses_left, created_by, created_at, expires_at"
ATTACHMENT = "id, name, type, size, width, height"


@dataclass(frozen=True, slots=True)
class Statements:
    ping: str
    create_room: str
    rooms: str
    expire_rooms: str
    next_seq: str
    insert_message: str
    by_nonce: str
    message: str
    quote: str
    reactions_between: str
    edit_text: str
    delete_text: str
    delete_reactions: str
    unreact: str
    react: str
    alive: str
    insert_change: str
    log_after: str
    messages_of: str
    record_moderation: str
    epoch: str
    old_messages: str
    old_messages_in: str
    room_retention: str
    set_room_retention: str
    clear_room_retention: str
    new_epoch: str
    moderation_log: str
    latest: str
    before: str
    after: str
    last_seq: str
    enter: str
    leave: str
    renew: str
    expire: str
    forget: str
    rename: str
    members: str
    online_counts: str
    present_rooms: str
    mark_read: str
    read_markers: str
    expire_read_markers: str
    readings: str
    mark_rooms_read: str
    set_notify: str
    public_rooms: str
    insert_mention: str
    delete_mentions: str
    create_account: str
    account: str
    account_by_name: str
    name_holder: str
    accounts: str
    count_admins: str
    set_role: str
    set_active: str
    set_password: str
    rename_account: str
    create_session: str
    sessions: str
    end_session: str
    end_sessions_of: str
    expire_sessions: str
    create_token: str
    token: str
    use_token: str
    give_back_token: str
    tokens: str
    revoke_token: str
    end_tokens_of: str
    expire_tokens: str
    room_records: str
    restore_room: str
    restore_message: str
    restore_change: str
    restore_reaction: str
    restore_last_seq: str
    insert_file: str
    time_zone: str
    set_time_zone: str
    files_between: str
    file: str
    thumbnail: str


STATEMENTS = Statements(
    ping="SELECT 1",
    create_room="INSERT INTO rooms (name, created_at, active_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    # Each part reads at most `limit` rows along its own index, however many rooms there are.
    rooms=(
        "SELECT name, last_seq FROM ("
        " SELECT name, last_seq, 0 AS tier, 0 AS at FROM rooms WHERE name = ?"
        " UNION ALL SELECT * FROM (SELECT name, last_seq, 1, active_at FROM rooms"
        "  WHERE last_seq > 0 AND substr(name, 1, 1) <> '_' AND name <> ? ORDER BY active_at DESC LIMIT ?) AS written"
        " UNION ALL SELECT * FROM (SELECT name, last_seq, 2, created_at FROM rooms"
        "  WHERE last_seq = 0 AND substr(name, 1, 1) <> '_' AND name <> ? ORDER BY created_at DESC LIMIT ?)"
        " AS never_written"
        ") AS ranked ORDER BY tier, at DESC, name LIMIT ?"
    ),
    # `last_seq = 0` again outside: a room written in meanwhile (PostgreSQL re-checks a row it waited for) stays.
    expire_rooms=(
        "DELETE FROM rooms WHERE name IN ("
        " SELECT name FROM rooms WHERE last_seq = 0 AND substr(name, 1, 1) <> '_' AND created_at < ? AND name <> ?"
        " AND NOT EXISTS (SELECT 1 FROM presence WHERE presence.room = rooms.name)"
        " ORDER BY created_at LIMIT ?"
        ") AND last_seq = 0"
    ),
    # Run inside the store's write transaction: the upsert holds the room's row until commit.
    next_seq=(
        "INSERT INTO rooms (name, last_seq, created_at, active_at) VALUES (?, 1, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET last_seq = rooms.last_seq + 1, active_at = excluded.active_at "
        "RETURNING last_seq"
    ),
    insert_message=(
        "INSERT INTO messages (room, seq, author, author_id, text, sent_at, nonce, reply_to) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    by_nonce=f"SELECT {MESSAGE} FROM {QUOTED} WHERE m.author_id = ? AND m.nonce = ?",
    message=f"SELECT {MESSAGE} FROM {QUOTED} WHERE m.room = ? AND m.seq = ?",
    quote=(
        f"SELECT seq, author, author_id, substr(text, 1, {QUOTED_CHARACTERS}), deleted FROM messages "
        "WHERE room = ? AND seq = ?"
    ),
    reactions_between=(
        "SELECT target, emoji, uid FROM reactions WHERE room = ? AND target >= ? AND target <= ? "
        "ORDER BY target, at, emoji{binary}, uid"
    ),
    edit_text=(
        "UPDATE messages SET text = ?, edited_at = ? WHERE room = ? AND seq = ? AND author_id = ? AND deleted = 0"
    ),
    delete_text="UPDATE messages SET text = '', deleted = 1 WHERE room = ? AND seq = ? AND deleted = 0",
    delete_reactions="DELETE FROM reactions WHERE room = ? AND target = ?",
    unreact="DELETE FROM reactions WHERE room = ? AND target = ? AND emoji = ? AND uid = ?",
    react="INSERT INTO reactions (room, target, emoji, uid, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    alive="SELECT 1 FROM messages WHERE room = ? AND seq = ? AND deleted = 0",
    insert_change="INSERT INTO changes (room, seq, target, kind, at) VALUES (?, ?, ?, ?, ?)",
    # The log after a place: new messages and changes, each change with its message as it is now. Each
    # part reads at most `limit` rows along its primary key.
    log_after=(
        "SELECT * FROM ("
        f" SELECT * FROM (SELECT {MESSAGE}, 0 AS target, '' AS kind FROM {QUOTED}"
        "  WHERE m.room = ? AND m.seq > ? ORDER BY m.seq LIMIT ?) AS written"
        " UNION ALL SELECT * FROM (SELECT c.room, c.seq, m.author, m.author_id, m.text, m.sent_at, m.edited_at,"
        "  m.deleted, m.reply_to, q.author, q.author_id, "
        f"  substr(q.text, 1, {QUOTED_CHARACTERS}), q.deleted, c.target, c.kind FROM changes AS c"
        "  JOIN messages AS m ON m.room = c.room AND m.seq = c.target"
        "  LEFT JOIN messages AS q ON q.room = m.room AND q.seq = m.reply_to"
        "  WHERE c.room = ? AND c.seq > ? ORDER BY c.seq LIMIT ?) AS changed"
        ") AS log ORDER BY seq LIMIT ?"
    ),
    messages_of="SELECT room, seq FROM messages WHERE author_id = ? AND deleted = 0 LIMIT ?",
    epoch="SELECT value FROM meta WHERE key = 'epoch'",
    old_messages=(
        "SELECT room, seq FROM messages WHERE deleted = 0 AND sent_at < ? "
        "AND room NOT IN (SELECT room FROM room_retention) ORDER BY sent_at LIMIT ?"
    ),
    old_messages_in=(
        "SELECT room, seq FROM messages WHERE room = ? AND deleted = 0 AND sent_at < ? ORDER BY seq LIMIT ?"
    ),
    room_retention="SELECT room, days FROM room_retention ORDER BY room",
    set_room_retention=(
        "INSERT INTO room_retention (room, days) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET days = excluded.days"
    ),
    clear_room_retention="DELETE FROM room_retention WHERE room = ?",
    new_epoch="UPDATE meta SET value = {random_id} WHERE key = 'epoch'",
    record_moderation="INSERT INTO moderation (at, by_name, action, target, detail) VALUES (?, ?, ?, ?, ?)",
    moderation_log="SELECT at, by_name, action, target, detail FROM moderation ORDER BY at DESC LIMIT ?",
    latest=f"SELECT {MESSAGE} FROM {QUOTED} WHERE m.room = ? ORDER BY m.seq DESC LIMIT ?",
    before=f"SELECT {MESSAGE} FROM {QUOTED} WHERE m.room = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?",
    after=f"SELECT {MESSAGE} FROM {QUOTED} WHERE m.room = ? AND m.seq > ? ORDER BY m.seq LIMIT ?",
    last_seq="SELECT last_seq FROM rooms WHERE name = ?",
    enter=(
        "INSERT INTO presence (room, uid, process, name, expires_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (room, uid, process) DO UPDATE SET name = excluded.name, expires_at = excluded.expires_at"
    ),
    leave="DELETE FROM presence WHERE room = ? AND uid = ? AND process = ?",
    renew="UPDATE presence SET expires_at = ? WHERE process = ?",
    expire="DELETE FROM presence WHERE expires_at <= ? RETURNING room",
    forget="DELETE FROM presence WHERE process = ? RETURNING room",
    rename="UPDATE presence SET name = ? WHERE uid = ? RETURNING room",
    members=(
        "SELECT uid, MIN(name) AS name FROM presence WHERE room = ? AND expires_at > ? "
        "GROUP BY uid ORDER BY lower(MIN(name)){binary}, MIN(name){binary}, uid"
    ),
    online_counts="SELECT room, COUNT(DISTINCT uid) FROM presence WHERE expires_at > ? GROUP BY room",
    present_rooms="SELECT DISTINCT room FROM presence WHERE uid = ? AND expires_at > ? ORDER BY room",
    mark_read=(
        "INSERT INTO read_markers (uid, room, seq, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (uid, room) DO UPDATE SET updated_at = excluded.updated_at, "
        "seq = CASE WHEN excluded.seq > read_markers.seq THEN excluded.seq ELSE read_markers.seq END"
    ),
    read_markers="SELECT room, seq FROM read_markers WHERE uid = ?",
    expire_read_markers=(
        "DELETE FROM read_markers WHERE (uid, room) IN ("
        " SELECT uid, room FROM read_markers WHERE updated_at < ? ORDER BY updated_at LIMIT ?"
        ") AND updated_at < ?"
    ),
    # Each count reads at most `cap` rows along a primary key: (room, seq) of messages, (name, room, seq) of mentions.
    readings=(
        "SELECT r.room, r.seq, r.notify, COALESCE((SELECT last_seq FROM rooms WHERE name = r.room), 0),"
        " (SELECT count(*) FROM (SELECT 1 FROM messages AS m WHERE m.room = r.room AND m.seq > r.seq"
        "  AND m.deleted = 0 AND m.author_id <> ? LIMIT ?) AS unread),"
        " (SELECT count(*) FROM (SELECT 1 FROM mentions AS n JOIN messages AS m ON m.room = n.room AND m.seq = n.seq"
        "  WHERE n.name = ? AND n.room = r.room AND n.seq > r.seq AND m.deleted = 0 AND m.author_id <> ? LIMIT ?)"
        "  AS mentioned)"
        # Their places; a private room's only while they are in it, and counted from its start until they
        # open it (a direct conversation written to them counts before they ever looked).
        " FROM (SELECT room, seq, notify, visited_at FROM read_state AS s WHERE s.account = ?"
        "  AND (substr(s.room, 1, 1) <> '_' OR EXISTS (SELECT 1 FROM room_members AS rm"
        "   WHERE rm.room = s.room AND rm.uid = s.account))"
        "  UNION ALL SELECT rm.room, 0, 'all', rm.added_at FROM room_members AS rm WHERE rm.uid = ?"
        "  AND NOT EXISTS (SELECT 1 FROM read_state AS s WHERE s.account = rm.uid AND s.room = rm.room)) AS r"
        " ORDER BY r.visited_at DESC, r.room{binary} LIMIT ?"
    ),
    # Only rooms that exist (made at a rate limited per address): any name in a URL would be a row otherwise.
    mark_rooms_read=(
        "INSERT INTO read_state (account, room, seq, visited_at) "
        "SELECT CAST(? AS TEXT), name, CAST(? AS {integer}), CAST(? AS {integer}) FROM rooms WHERE name = ? "
        "ON CONFLICT (account, room) DO UPDATE SET visited_at = excluded.visited_at, "
        "seq = CASE WHEN excluded.seq > read_state.seq THEN excluded.seq ELSE read_state.seq END"
    ),
    set_notify=(
        "INSERT INTO read_state (account, room, seq, notify, visited_at) "
        "SELECT CAST(? AS TEXT), name, 0, CAST(? AS TEXT), CAST(? AS {integer}) FROM rooms WHERE name = ? "
        "ON CONFLICT (account, room) DO UPDATE SET notify = excluded.notify"
    ),
    public_rooms=(
        "SELECT name, last_seq, active_at FROM rooms WHERE last_seq > 0 AND substr(name, 1, 1) <> '_' "
        "ORDER BY active_at DESC, name{binary} "
        "LIMIT ? OFFSET ?"
    ),
    insert_mention="INSERT INTO mentions (name, room, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    delete_mentions="DELETE FROM mentions WHERE room = ? AND seq = ?",
    # Either unique key taken (the name, or a look-alike): no row, and so no id returned.
    create_account=(
        "INSERT INTO accounts (id, name, folded, looks, looks_folded, role, password_hash, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"
    ),
    account=f"SELECT {ACCOUNT} FROM accounts WHERE id = ?",
    account_by_name=f"SELECT {ACCOUNT} FROM accounts WHERE folded = ?",
    name_holder="SELECT id, name FROM accounts WHERE folded = ? OR looks = ? OR looks_folded = ? LIMIT 1",
    accounts=f"SELECT {ACCOUNT} FROM accounts ORDER BY lower(name){{binary}}, id LIMIT ? OFFSET ?",
    count_admins="SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND active = 1",
    set_role="UPDATE accounts SET role = ? WHERE id = ?",
    set_active="UPDATE accounts SET active = ? WHERE id = ?",
    set_password="UPDATE accounts SET password_hash = ? WHERE id = ? AND id LIKE 'a%'",
    rename_account=(
        "UPDATE accounts SET name = ?, folded = ?, looks = ?, looks_folded = ? WHERE id = ? "
        "AND NOT EXISTS (SELECT 1 FROM accounts AS other WHERE other.id <> ? "
        " AND (other.folded = ? OR other.looks = ? OR other.looks_folded = ?))"
    ),
    create_session="INSERT INTO sessions (id, account, created_at, expires_at) VALUES (?, ?, ?, ?)",
    # A fixed number of placeholders (unused ones get ''), so one statement text serves every batch.
    sessions=(
        f"SELECT sessions.id, {', '.join('accounts.' + c for c in ACCOUNT.split(', '))} FROM sessions "
        "JOIN accounts ON accounts.id = sessions.account WHERE sessions.expires_at > ? AND accounts.active = 1 "
        f"AND sessions.id IN ({', '.join('?' * SESSION_BATCH)})"
    ),
    end_session="DELETE FROM sessions WHERE id = ?",
    end_sessions_of="DELETE FROM sessions WHERE account = ? AND id <> ? RETURNING id",
    expire_sessions="DELETE FROM sessions WHERE expires_at <= ?",
    create_token=(f"INSERT INTO tokens (hash, {TOKEN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
    token=f"SELECT {TOKEN} FROM tokens WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)",
    # One use, atomically: of two people with the last use of an invite, one gets it.
    use_token=(
        "UPDATE tokens SET uses_left = uses_left - 1 WHERE hash = ? AND kind = ? AND uses_left > 0 "
        f"AND (expires_at IS NULL OR expires_at > ?) RETURNING {TOKEN}"
    ),
    give_back_token="UPDATE tokens SET uses_left = uses_left + 1 WHERE hash = ? AND uses_left IS NOT NULL",
    tokens=(
        f"SELECT {TOKEN} FROM tokens WHERE kind = ? AND (uses_left IS NULL OR uses_left > 0) "
        "AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC LIMIT ?"
    ),
    revoke_token="DELETE FROM tokens WHERE id = ? AND kind = ?",
    end_tokens_of="DELETE FROM tokens WHERE account = ? AND kind = ?",
    expire_tokens="DELETE FROM tokens WHERE expires_at <= ? OR uses_left = 0",
    room_records=(
        "SELECT name, last_seq, created_at, active_at FROM rooms WHERE name{binary} > ? ORDER BY name{binary} LIMIT ?"
    ),
    restore_room=(
        "INSERT INTO rooms (name, last_seq, created_at, active_at) VALUES (?, 0, ?, ?) ON CONFLICT (name) DO UPDATE "
        "SET created_at = CASE WHEN excluded.created_at < rooms.created_at THEN excluded.created_at "
        "ELSE rooms.created_at END, "
        "active_at = CASE WHEN excluded.active_at > rooms.active_at THEN excluded.active_at ELSE rooms.active_at END"
    ),
    restore_message=(
        "INSERT INTO messages (room, seq, author, author_id, text, sent_at, edited_at, deleted, reply_to) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    ),
    restore_change="INSERT INTO changes (room, seq, target, kind, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    restore_reaction=(
        "INSERT INTO reactions (room, target, emoji, uid, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    ),
    restore_last_seq="UPDATE rooms SET last_seq = ? WHERE name = ? AND last_seq < ?",
    insert_file=(
        f"INSERT INTO files (room, seq, position, {ATTACHMENT}, data, thumbnail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    time_zone="SELECT zone FROM time_zones WHERE account = ?",
    set_time_zone=(
        "INSERT INTO time_zones (account, zone) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET zone = excluded.zone"
    ),
    files_between=(
        f"SELECT seq, {ATTACHMENT} FROM files WHERE room = ? AND seq >= ? AND seq <= ? ORDER BY seq, position"
    ),
    file=f"SELECT room, {ATTACHMENT}, data FROM files WHERE id = ?",
    thumbnail=f"SELECT room, {ATTACHMENT}, thumbnail FROM files WHERE id = ?",
)

_QUOTED_OR_PLACEHOLDER = re.compile(r"'[^']*'|\"[^\"]*\"|\?")


def numbered(sql: str) -> str:
    """sqlite3's `?` placeholders as asyncpg's `$1, $2, …`, left to right; quoted text is kept as it is.

    >>> numbered("UPDATE t SET a = ? WHERE b = '?' AND c > ? LIMIT ?")
    "UPDATE t SET a = $1 WHERE b = '?' AND c > $2 LIMIT $3"
    >>> numbered("SELECT 1")
    'SELECT 1'
    """
    count = itertools.count(1)
    return _QUOTED_OR_PLACEHOLDER.sub(lambda m: f"${next(count)}" if m[0] == "?" else m[0], sql)


def render(template: str, dialect: Dialect) -> str:
    text = template.format(
        integer=dialect.integer,
        without_rowid=dialect.without_rowid,
        binary=dialect.binary,
        now=dialect.now,
        random_id=dialect.random_id,
        blob=dialect.blob,
    )
    return numbered(text) if dialect.numbered else text


def migrations(dialect: Dialect) -> list[str]:
    return [render(_script(migration, dialect), dialect) for migration in MIGRATIONS]


def _script(migration: str | PerDialect, dialect: Dialect) -> str:
    if isinstance(migration, PerDialect):
        return str(getattr(migration, dialect.name))
    return migration


def statements(dialect: Dialect) -> Statements:
    return Statements(*(render(template, dialect) for template in astuple(STATEMENTS)))


def file_rows(room: str, seq: int, files: Sequence[NewFile]) -> list[tuple[Any, ...]]:
    """The `insert_file` rows of a message's files, in their order."""
    return [(room, seq, position, *astuple(f.attachment), f.data, f.thumbnail) for position, f in enumerate(files)]


def message(row: Row) -> Message:
    """A message from a row of `MESSAGE` (then, for a log entry, its target and kind); a shorter row (an append's)
    has no reply columns."""
    room, seq, author, author_id, text, sent_at, edited_at, deleted, *rest = row
    reply_to, quoted = 0, None
    if len(rest) >= 5:
        reply_to, quoted_author, quoted_author_id, quoted_text, quoted_deleted, *rest = rest
        if reply_to and quoted_author is not None:
            quoted = Quote(int(reply_to), quoted_author, quoted_author_id, quoted_text, bool(quoted_deleted))
    target, kind = rest or (0, NEW)
    return Message(
        room,
        seq,
        author,
        author_id,
        text,
        from_us(sent_at),
        target,
        kind,
        bool(edited_at),
        bool(deleted),
        reply_to=int(reply_to),
        quote=quoted,
    )


def quote(row: Row) -> Quote:
    id, author, author_id, text, deleted = row
    return Quote(int(id), author, author_id, text, bool(deleted))


def with_reactions(entries: list[Message], rows: Sequence[Row]) -> list[Message]:
    """The entries with their messages' reactions, from (target, emoji, uid) rows in the order chosen."""
    if not rows:
        return entries
    chosen: dict[int, dict[str, list[str]]] = {}
    for target, emoji, uid in rows:
        chosen.setdefault(int(target), {}).setdefault(emoji, []).append(uid)
    return [
        replace(m, reactions=tuple((e, tuple(uids)) for e, uids in chosen[m.id].items())) if m.id in chosen else m
        for m in entries
    ]


def messages(rows: Sequence[Row], newest_first: bool) -> list[Message]:
    """Messages oldest first, from rows in `seq` order."""
    ordered = reversed(rows) if newest_first else rows
    return [message(row) for row in ordered]


def _restored(m: Message) -> tuple[object, ...]:
    """A message's row: `edited_at` is only ever read as "edited or not", so the message's own time will do."""
    sent_at = to_us(m.sent_at)
    edited_at = max(sent_at, 1) if m.edited else 0
    return (m.room, m.seq, m.author, m.author_id, m.text, sent_at, edited_at, int(m.deleted), m.reply_to)


def account(row: Row) -> Account:
    id, name, role, active, password_hash, created_at = row
    return Account(id, name, role, bool(active), password_hash, created_at)


def token(row: Row) -> Token:
    return Token(*row)


def _rooms(rows: Sequence[Row]) -> list[str]:
    return sorted({row[0] for row in rows})


@dataclass(frozen=True, slots=True)
class Change:
    """The statements of one change to a message (see `SQLStore._change`)."""

    mutations: list[tuple[str, tuple[Any, ...]]]
    guard: tuple[str, tuple[Any, ...]] | None = None
    then: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)


class SQLStore(PrivateRoomsStore, ABC):
    """The `MessageStore` methods that are the same SQL and the same result on either database.

    A store provides `sql` in its dialect, four ways to run a statement, and `_appends`: how its appends
    are committed together (`chatroom.store.group_commit`), over its own `_commit`.
    """

    sql: ClassVar[Statements]
    search_sql: ClassVar[str]  # chatroom.store.search's query, in the dialect
    _appends: GroupCommit | ThreadGroupCommit

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
        stored = await self._appends.append(room, author, author_id, text, nonce, files, reply_to)
        if not stored.reply_to:
            return stored
        # Read after the commit, so never older than the reply's place in the log: a quoted message deleted or
        # edited before it is shown so, and a later change comes after it, as an entry that updates its quote.
        return replace(stored, quote=await self.quote(room, stored.reply_to))

    async def time_zone(self, account: str) -> str | None:
        rows = await self._read(self.sql.time_zone, account)
        return str(rows[0][0]) if rows else None

    async def set_time_zone(self, account: str, zone: str) -> None:
        await self._write(self.sql.set_time_zone, account, zone)

    async def quote(self, room: str, id: int) -> Quote | None:
        """Message `id` of the room as a quote shows it, as it is now; None when there is no such message."""
        rows = await self._read(self.sql.quote, room, id)
        return quote(rows[0]) if rows else None

    @staticmethod
    @abstractmethod
    def _matched(words: tuple[str, ...]) -> str:
        """The words of a search in the database's own query syntax, every one of them to match."""

    @abstractmethod
    async def _read(self, sql: str, *args: Any) -> list[Row]:
        """The rows of a query."""

    @abstractmethod
    async def _read_each(self, sql: str, each: Sequence[tuple[Any, ...]]) -> list[list[Row]]:
        """The rows of a query for each of its argument tuples, in one go (one hand-off, one connection)."""

    @abstractmethod
    async def _write(self, sql: str, *args: Any) -> list[Row]:
        """Run one statement in a transaction of its own; the rows it returns, if any."""

    @abstractmethod
    async def _write_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run one statement for each row, all in one transaction."""

    @abstractmethod
    async def _count(self, sql: str, *args: Any) -> int:
        """Run one statement in a transaction of its own; how many rows it changed."""

    @abstractmethod
    async def _write_batches(self, batches: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None:
        """Run each (statement, rows) batch for each of its rows, all batches in one transaction."""

    async def ping(self) -> None:
        await self._read(self.sql.ping)

    async def search(self, query: search.SearchQuery, before: int | None, limit: int) -> list[search.Found]:
        arguments = search.arguments(query, self._matched(query.words), before, limit)
        rows = await self._read(self.search_sql, *arguments)
        # The files of each result that has some: one lookup along the files' index each.
        found = []
        for row in rows:
            result = message(row[1:-1])
            if row[-1]:
                result = (await self._with_files(result.room, [result], result.id, result.id))[0]
            found.append(search.Found(row[0], result))
        return found

    async def create_room(self, room: str) -> None:
        now = now_us()
        await self._write(self.sql.create_room, room, now, now)

    async def rooms(self, limit: int, pinned: str) -> list[RoomInfo]:
        rows = await self._read(self.sql.rooms, pinned, pinned, limit, pinned, limit, limit)
        return [RoomInfo(name, last_seq) for name, last_seq in rows]

    async def expire_rooms(self, created_before: int, keep: str, limit: int) -> int:
        return await self._count(self.sql.expire_rooms, created_before, keep, limit)

    async def latest(self, room: str, limit: int) -> list[Message]:
        return await self._reacted(room, messages(await self._read(self.sql.latest, room, limit), newest_first=True))

    async def before(self, room: str, seq: int, limit: int) -> list[Message]:
        found = messages(await self._read(self.sql.before, room, seq, limit), newest_first=True)
        return await self._reacted(room, found)

    async def after(self, room: str, seq: int, limit: int) -> list[Message]:
        return await self._reacted(
            room, messages(await self._read(self.sql.after, room, seq, limit), newest_first=False)
        )

    async def message(self, room: str, id: int) -> Message | None:
        rows = await self._read(self.sql.message, room, id)
        return (await self._reacted(room, [message(rows[0])]))[0] if rows else None

    async def log_after(self, room: str, seq: int, limit: int) -> list[Message]:
        rows = await self._read(self.sql.log_after, room, seq, limit, room, seq, limit, limit)
        return await self._reacted(room, [message(row) for row in rows])

    async def messages_of(self, author_id: str, limit: int) -> list[tuple[str, int]]:
        return [(room, int(seq)) for room, seq in await self._read(self.sql.messages_of, author_id, limit)]

    async def old_messages(self, before: int, limit: int, room: str | None = None) -> list[tuple[str, int]]:
        if room is None:
            rows = await self._read(self.sql.old_messages, before, limit)
        else:
            rows = await self._read(self.sql.old_messages_in, room, before, limit)
        return [(name, int(seq)) for name, seq in rows]

    async def room_retention(self) -> dict[str, int]:
        return {room: int(days) for room, days in await self._read(self.sql.room_retention)}

    async def set_room_retention(self, room: str, days: int | None) -> None:
        if days is None:
            await self._write(self.sql.clear_room_retention, room)
        else:
            await self._write(self.sql.set_room_retention, room, days)

    async def epoch(self) -> str:
        rows = await self._read(self.sql.epoch)
        return str(rows[0][0]) if rows else ""

    async def record_moderation(self, at: int, by: str, action: str, target: str, detail: str) -> None:
        await self._write(self.sql.record_moderation, at, by, action, target, detail)

    async def moderation_log(self, limit: int) -> list[tuple[int, str, str, str, str]]:
        rows = await self._read(self.sql.moderation_log, limit)
        return [(int(at), by, action, target, detail) for at, by, action, target, detail in rows]

    async def edit(self, room: str, id: int, author_id: str, text: str) -> Message | None:
        change = Change(
            mutations=[(self.sql.edit_text, (text, now_us(), room, id, author_id))],
            then=[(self.sql.delete_mentions, (room, id)), *self._mentions_of(room, id, text)],
        )
        return await self._changed(room, id, EDIT, change)

    async def delete(self, room: str, id: int) -> Message | None:
        change = Change(
            mutations=[(self.sql.delete_text, (room, id))],
            then=[(self.sql.delete_reactions, (room, id)), (self.sql.delete_mentions, (room, id))],
        )
        return await self._changed(room, id, DELETE, change)

    async def react(self, room: str, id: int, uid: str, emoji: str, most: int) -> Message | None:
        current = await self.message(room, id)
        if current is None or current.deleted:
            return None
        if emoji not in dict(current.reactions) and len(current.reactions) >= most:
            return None
        change = Change(
            guard=(self.sql.alive, (room, id)),
            mutations=[
                (self.sql.unreact, (room, id, emoji, uid)),
                (self.sql.react, (room, id, emoji, uid, now_us())),
            ],
        )
        return await self._changed(room, id, REACTIONS, change)

    def _mentions_of(self, room: str, seq: int, text: str) -> list[tuple[str, tuple[Any, ...]]]:
        """The `insert_mention` statements of a message's text."""
        return [(self.sql.insert_mention, (name, room, seq)) for name in mentioned(text)]

    async def _changed(self, room: str, id: int, kind: str, change: Change) -> Message | None:
        """Apply `change` to message `id` and give it the log's next place: that entry, as the message is now."""
        seq = await self._change(room, id, kind, change)
        if seq is None:
            return None
        current = await self.message(room, id)
        if current is None:
            return None
        return replace(current, seq=seq, target=id, kind=kind)

    @abstractmethod
    async def _change(self, room: str, id: int, kind: str, change: Change) -> int | None:
        """In one transaction: `change.guard` must find a row, then the first of `change.mutations` that changes
        a row, then `change.then`, then the room's next `seq` and a `changes` row of `kind` there. That `seq`,
        or None (nothing changed, nothing written)."""

    async def _reacted(self, room: str, entries: list[Message]) -> list[Message]:
        """`entries` (of one room) with their messages' reactions and files, read in a query each."""
        if not entries:
            return entries
        ids = [m.id for m in entries]
        reacted = with_reactions(entries, await self._read(self.sql.reactions_between, room, min(ids), max(ids)))
        return await self._with_files(room, reacted, min(ids), max(ids))

    async def file(self, file_id: str, thumbnail: bool = False) -> tuple[str, Attachment, bytes] | None:
        rows = await self._read(self.sql.thumbnail if thumbnail else self.sql.file, file_id)
        if not rows:
            return None
        room, *attachment, data = rows[0]
        return room, Attachment(*attachment), bytes(data)

    async def _with_files(self, room: str, entries: list[Message], first: int, last: int) -> list[Message]:
        """`entries` with the files of their messages (ids `first` to `last`), along the files' index."""
        files: dict[int, list[Attachment]] = {}
        for id, *attachment in await self._read(self.sql.files_between, room, first, last):
            files.setdefault(id, []).append(Attachment(*attachment))
        return [replace(m, files=tuple(files[m.id])) if m.id in files else m for m in entries]

    async def last_seq(self, room: str) -> int:
        rows = await self._read(self.sql.last_seq, room)
        return int(rows[0][0]) if rows else 0

    async def enter(self, process: str, entries: list[tuple[str, str, str]], expires_at: int) -> None:
        await self._write_many(self.sql.enter, [(room, uid, process, name, expires_at) for room, uid, name in entries])

    async def leave(self, process: str, entries: list[tuple[str, str]]) -> None:
        await self._write_many(self.sql.leave, [(room, uid, process) for room, uid in entries])

    async def renew(self, process: str, expires_at: int) -> int:
        return await self._count(self.sql.renew, expires_at, process)

    async def expire(self, now: int) -> list[str]:
        return _rooms(await self._write(self.sql.expire, now))

    async def forget(self, process: str) -> list[str]:
        return _rooms(await self._write(self.sql.forget, process))

    async def rename(self, uid: str, name: str) -> list[str]:
        return _rooms(await self._write(self.sql.rename, name, uid))

    async def members(self, room: str, now: int) -> list[Member]:
        rows = await self._read(self.sql.members, room, now)
        return [Member(uid, name) for uid, name in rows]

    async def online_counts(self, now: int) -> dict[str, int]:
        rows = await self._read(self.sql.online_counts, now)
        return {room: int(count) for room, count in rows}

    async def present_rooms(self, uid: str, now: int) -> list[str]:
        return [row[0] for row in await self._read(self.sql.present_rooms, uid, now)]

    async def mark_read(self, entries: list[tuple[str, str, int]], now: int) -> None:
        await self._write_many(self.sql.mark_read, [(uid, room, seq, now) for uid, room, seq in entries])

    async def read_markers(self, uid: str) -> dict[str, int]:
        rows = await self._read(self.sql.read_markers, uid)
        return {room: int(seq) for room, seq in rows}

    async def expire_read_markers(self, updated_before: int, limit: int) -> int:
        return await self._count(self.sql.expire_read_markers, updated_before, limit, updated_before)

    async def readings(self, account: str, name: str, limit: int, cap: int) -> list[Reading]:
        return (await self.readings_of([(account, name)], limit, cap))[0]

    async def readings_of(self, people: Sequence[tuple[str, str]], limit: int, cap: int) -> list[list[Reading]]:
        each = [(account, cap, name, account, cap, account, account, limit) for account, name in people]
        return [
            [Reading(room, int(seq), notify, int(last), int(u), int(m)) for room, seq, notify, last, u, m in rows]
            for rows in await self._read_each(self.sql.readings, each)
        ]

    async def mark_rooms_read(self, entries: list[tuple[str, str, int]], now: int) -> None:
        await self._write_many(self.sql.mark_rooms_read, [(account, seq, now, room) for account, room, seq in entries])

    async def set_notify(self, account: str, room: str, notify: str, now: int) -> None:
        await self._write(self.sql.set_notify, account, notify, now, room)

    async def public_rooms(self, limit: int, offset: int) -> list[RoomActivity]:
        rows = await self._read(self.sql.public_rooms, limit, offset)
        return [RoomActivity(name, int(last), from_us(at)) for name, last, at in rows]

    # Accounts, sessions and tokens.

    async def create_account(self, new: Account, key: NameKeys) -> bool:
        folded, looks, looks_folded = key
        row = (new.id, new.name, folded, looks, looks_folded, new.role, new.password_hash, new.created_at)
        return bool(await self._write(self.sql.create_account, *row))

    async def account(self, id: str) -> Account | None:
        rows = await self._read(self.sql.account, id)
        return account(rows[0]) if rows else None

    async def account_by_name(self, folded: str) -> Account | None:
        rows = await self._read(self.sql.account_by_name, folded)
        return account(rows[0]) if rows else None

    async def name_holder(self, key: NameKeys) -> tuple[str, str] | None:
        rows = await self._read(self.sql.name_holder, *key)
        return (rows[0][0], rows[0][1]) if rows else None

    async def accounts(self, limit: int, offset: int = 0) -> list[Account]:
        return [account(row) for row in await self._read(self.sql.accounts, limit, offset)]

    async def count_admins(self) -> int:
        return int((await self._read(self.sql.count_admins))[0][0])

    async def set_role(self, id: str, role: str) -> bool:
        return await self._count(self.sql.set_role, role, id) > 0

    async def set_active(self, id: str, active: bool) -> bool:
        return await self._count(self.sql.set_active, int(active), id) > 0

    async def set_password(self, id: str, password_hash: str) -> bool:
        return await self._count(self.sql.set_password, password_hash, id) > 0

    async def rename_account(self, id: str, name: str, key: NameKeys) -> bool:
        return await self._count(self.sql.rename_account, name, *key, id, id, *key) > 0

    async def create_session(self, id: str, account: str, created_at: int, expires_at: int) -> None:
        await self._write(self.sql.create_session, id, account, created_at, expires_at)

    async def sessions(self, ids: Sequence[str], now: int) -> dict[str, Account]:
        found: dict[str, Account] = {}
        for start in range(0, len(ids), SESSION_BATCH):
            batch = list(ids[start : start + SESSION_BATCH])
            batch += [""] * (SESSION_BATCH - len(batch))
            for row in await self._read(self.sql.sessions, now, *batch):
                found[row[0]] = account(row[1:])
        return found

    async def end_session(self, id: str) -> None:
        await self._write(self.sql.end_session, id)

    async def end_sessions(self, account: str, keep: str = "") -> list[str]:
        return [row[0] for row in await self._write(self.sql.end_sessions_of, account, keep)]

    async def expire_sessions(self, now: int) -> int:
        return await self._count(self.sql.expire_sessions, now)

    async def create_token(self, hash: str, new: Token) -> None:
        await self._write(self.sql.create_token, hash, *astuple(new))

    async def token(self, hash: str, now: int) -> Token | None:
        rows = await self._read(self.sql.token, hash, now)
        return token(rows[0]) if rows else None

    async def use_token(self, hash: str, kind: str, now: int) -> Token | None:
        rows = await self._write(self.sql.use_token, hash, kind, now)
        return token(rows[0]) if rows else None

    async def give_back_token(self, hash: str) -> None:
        await self._write(self.sql.give_back_token, hash)

    async def tokens(self, kind: str, now: int, limit: int) -> list[Token]:
        return [token(row) for row in await self._read(self.sql.tokens, kind, now, limit)]

    async def revoke_token(self, id: str, kind: str) -> bool:
        return await self._count(self.sql.revoke_token, id, kind) > 0

    async def end_tokens(self, account: str, kind: str) -> int:
        return await self._count(self.sql.end_tokens_of, account, kind)

    async def expire_tokens(self, now: int) -> int:
        return await self._count(self.sql.expire_tokens, now)

    async def room_records(self, after: str, limit: int) -> list[RoomRecord]:
        rows = await self._read(self.sql.room_records, after, limit)
        return [RoomRecord(name, int(last), from_us(created), from_us(active)) for name, last, created, active in rows]

    async def restore_rooms(self, rooms: list[RoomRecord]) -> None:
        rows = [(r.name, to_us(r.created_at), to_us(r.active_at)) for r in rooms]
        await self._write_many(self.sql.restore_room, rows)

    async def restore_log(self, entries: list[Message], reactions: list[Reaction]) -> None:
        # Times the export does not carry (when a message was edited, a change made, a reaction chosen)
        # are the message's own; a reaction's order is its place in `reactions`.
        written = {(m.room, m.seq): to_us(m.sent_at) for m in entries if m.kind == NEW}
        new = [m for m in entries if m.kind == NEW]
        changes = [m for m in entries if m.kind != NEW]
        highest: dict[str, int] = {}
        for m in entries:
            highest[m.room] = max(m.seq, highest.get(m.room, 0))
        await self._write_batches(
            [
                (self.sql.restore_message, [_restored(m) for m in new]),
                (self.sql.restore_change, [(m.room, m.seq, m.target, m.kind, to_us(m.sent_at)) for m in changes]),
                (
                    self.sql.restore_reaction,
                    [
                        (r.room, r.target, r.emoji, r.uid, written.get((r.room, r.target), 0) + place)
                        for place, r in enumerate(reactions)
                    ],
                ),
                (self.sql.restore_last_seq, [(seq, room, seq) for room, seq in highest.items()]),
                (
                    self.sql.insert_mention,
                    [(name, m.room, m.seq) for m in new if not m.deleted for name in mentioned(m.text)],
                ),
            ]
        )

    async def restore_last_seq(self, room: str, seq: int) -> None:
        await self._count(self.sql.restore_last_seq, seq, room, seq)
