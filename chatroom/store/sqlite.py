"""SQLite store: the embedded default. One connection, used from one thread, in WAL mode."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from chatroom.store import Message, RoomInfo, StoreUnavailable

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
        now = _now_us()
        sql = "INSERT INTO rooms (name, created_at, active_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        await self._run(lambda db: _write(db, lambda: db.execute(sql, (room, now, now))))

    async def rooms(self, limit: int) -> list[RoomInfo]:
        sql = "SELECT name, last_seq FROM rooms ORDER BY active_at DESC, name LIMIT ?"
        rows = await self._run(lambda db: db.execute(sql, (limit,)).fetchall())
        return [RoomInfo(name, last_seq) for name, last_seq in rows]

    async def append(self, room: str, author: str, author_id: str, text: str) -> Message:
        now = _now_us()

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
        return Message(room, seq, author, author_id, text, _from_us(now))

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

    async def _select(self, sql: str, params: tuple[object, ...], reverse: bool) -> list[Message]:
        rows = await self._run(lambda db: db.execute(sql, params).fetchall())
        if reverse:
            rows.reverse()
        return [Message(r, s, a, aid, t, _from_us(at)) for r, s, a, aid, t, at in rows]

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 5000")  # other processes sharing the file wait, not fail
        db.execute("PRAGMA journal_mode = WAL")
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
        except sqlite3.Error as exc:
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


def _migrate(db: sqlite3.Connection) -> None:
    def run() -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")

    _write(db, run)


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def _from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)
