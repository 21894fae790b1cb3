"""SQLite store: the embedded default. One connection, used from one thread, in WAL mode."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from chatroom.errors import StoreUnavailable
from chatroom.store import Member, Message, RoomInfo, from_us, now_us

T = TypeVar("T")

MIGRATIONS = [
    """
    CREATE TABLE rooms (
        name TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        active_at INTEGER NOT NULL
    );
    CREATE INDEX rooms_by_activity ON rooms (active_at DESC);
    CREATE TABLE messages (
        room TEXT NOT NULL REFERENCES rooms (name),
        seq INTEGER NOT NULL,
        author TEXT NOT NULL,
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE presence (
        room TEXT NOT NULL,
        uid TEXT NOT NULL,
        process TEXT NOT NULL,
        name TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (room, uid, process)
    ) WITHOUT ROWID;
    CREATE INDEX presence_by_process ON presence (process);
    CREATE INDEX presence_by_uid ON presence (uid);
    CREATE INDEX presence_by_expiry ON presence (expires_at);
    CREATE TABLE read_markers (
        uid TEXT NOT NULL,
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (uid, room)
    ) WITHOUT ROWID;
    """,
]

COLUMNS = "room, seq, author, author_id, text, sent_at"


class SQLiteStore:
    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///") or ":memory:"
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

    async def open(self) -> None:
        self._db = await self._call(self._connect)

    async def close(self) -> None:
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._thread.shutdown(wait=True)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def create_room(self, room: str) -> None:
        now = now_us()
        sql = "INSERT INTO rooms (name, created_at, active_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        await self._run(lambda db: _write(db, lambda: db.execute(sql, (room, now, now))))

    async def rooms(self, limit: int) -> list[RoomInfo]:
        sql = "SELECT name, last_seq FROM rooms ORDER BY active_at DESC, name LIMIT ?"
        rows = await self._run(lambda db: db.execute(sql, (limit,)).fetchall())
        return [RoomInfo(name, last_seq) for name, last_seq in rows]

    async def append(self, room: str, author: str, author_id: str, text: str) -> Message:
        now = now_us()

        def insert(db: sqlite3.Connection) -> int:
            (seq,) = db.execute(
                "INSERT INTO rooms (name, last_seq, created_at, active_at) VALUES (?, 1, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_seq = last_seq + 1, active_at = excluded.active_at "
                "RETURNING last_seq",
                (room, now, now),
            ).fetchone()
            db.execute(
                f"INSERT INTO messages ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (room, seq, author, author_id, text, now),
            )
            return int(seq)

        seq = await self._run(lambda db: _write(db, lambda: insert(db)))
        return Message(room, seq, author, author_id, text, from_us(now))

    async def latest(self, room: str, limit: int) -> list[Message]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?"
        return await self._select(sql, (room, limit), reverse=True)

    async def before(self, room: str, seq: int, limit: int) -> list[Message]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        return await self._select(sql, (room, seq, limit), reverse=True)

    async def after(self, room: str, seq: int, limit: int) -> list[Message]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?"
        return await self._select(sql, (room, seq, limit), reverse=False)

    async def last_seq(self, room: str) -> int:
        row = await self._run(lambda db: db.execute("SELECT last_seq FROM rooms WHERE name = ?", (room,)).fetchone())
        return int(row[0]) if row else 0

    async def enter(self, process: str, entries: list[tuple[str, str, str]], expires_at: int) -> None:
        sql = (
            "INSERT INTO presence (room, uid, process, name, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (room, uid, process) DO UPDATE SET name = excluded.name, expires_at = excluded.expires_at"
        )
        rows = [(room, uid, process, name, expires_at) for room, uid, name in entries]
        await self._run(lambda db: _write(db, lambda: db.executemany(sql, rows)))

    async def leave(self, process: str, entries: list[tuple[str, str]]) -> None:
        sql = "DELETE FROM presence WHERE room = ? AND uid = ? AND process = ?"
        rows = [(room, uid, process) for room, uid in entries]
        await self._run(lambda db: _write(db, lambda: db.executemany(sql, rows)))

    async def renew(self, process: str, expires_at: int) -> int:
        sql = "UPDATE presence SET expires_at = ? WHERE process = ?"
        return await self._run(lambda db: _write(db, lambda: db.execute(sql, (expires_at, process)).rowcount))

    async def expire(self, now: int) -> list[str]:
        return await self._delete_presence("expires_at <= ?", now)

    async def forget(self, process: str) -> list[str]:
        return await self._delete_presence("process = ?", process)

    async def rename(self, uid: str, name: str) -> list[str]:
        sql = "UPDATE presence SET name = ? WHERE uid = ? RETURNING room"
        rows = await self._run(lambda db: _write(db, lambda: db.execute(sql, (name, uid)).fetchall()))
        return sorted({room for (room,) in rows})

    async def members(self, room: str, now: int) -> list[Member]:
        sql = (
            "SELECT uid, MIN(name) AS name FROM presence WHERE room = ? AND expires_at > ? "
            "GROUP BY uid ORDER BY lower(name), name, uid"
        )
        rows = await self._run(lambda db: db.execute(sql, (room, now)).fetchall())
        return [Member(uid, name) for uid, name in rows]

    async def online_counts(self, now: int) -> dict[str, int]:
        sql = "SELECT room, COUNT(DISTINCT uid) FROM presence WHERE expires_at > ? GROUP BY room"
        rows = await self._run(lambda db: db.execute(sql, (now,)).fetchall())
        return {room: int(count) for room, count in rows}

    async def present_rooms(self, uid: str, now: int) -> list[str]:
        sql = "SELECT DISTINCT room FROM presence WHERE uid = ? AND expires_at > ? ORDER BY room"
        rows = await self._run(lambda db: db.execute(sql, (uid, now)).fetchall())
        return [room for (room,) in rows]

    async def mark_read(self, entries: list[tuple[str, str, int]]) -> None:
        sql = (
            "INSERT INTO read_markers (uid, room, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (uid, room) DO UPDATE SET seq = max(seq, excluded.seq)"
        )
        await self._run(lambda db: _write(db, lambda: db.executemany(sql, entries)))

    async def read_markers(self, uid: str) -> dict[str, int]:
        rows = await self._run(
            lambda db: db.execute("SELECT room, seq FROM read_markers WHERE uid = ?", (uid,)).fetchall()
        )
        return {room: int(seq) for room, seq in rows}

    async def _delete_presence(self, where: str, value: object) -> list[str]:
        sql = f"DELETE FROM presence WHERE {where} RETURNING room"
        rows = await self._run(lambda db: _write(db, lambda: db.execute(sql, (value,)).fetchall()))
        return sorted({room for (room,) in rows})

    async def _select(self, sql: str, params: tuple[object, ...], reverse: bool) -> list[Message]:
        rows = await self._run(lambda db: db.execute(sql, params).fetchall())
        if reverse:
            rows.reverse()
        return [Message(r, s, a, aid, t, from_us(at)) for r, s, a, aid, t, at in rows]

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 5000")  # other processes sharing the file wait, not fail
        _enable_wal(db)
        db.execute("PRAGMA synchronous = FULL")  # an acknowledged message survives a power cut too
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db)
        return db

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            raise StoreUnavailable("the store is closed")
        return await self._call(work, self._db)

    async def _call(self, work: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc


def _write(db: sqlite3.Connection, work: Callable[[], T]) -> T:
    db.execute("BEGIN IMMEDIATE")  # takes the write lock first, so `seq` is gapless across processes
    try:
        result = work()
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _enable_wal(db: sqlite3.Connection, attempts: int = 50) -> None:
    # The busy timeout does not cover switching a new file to WAL while another process opens it too.
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _migrate(db: sqlite3.Connection) -> None:
    def run() -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")

    _write(db, run)
