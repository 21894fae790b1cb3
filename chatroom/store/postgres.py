"""PostgreSQL store: the same schema and semantics as SQLite, for several processes and machines.

Query parameters in the URL that asyncpg does not know are sent as server settings, so
`?search_path=other` puts the tables in another schema (the tests use that for isolation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from chatroom.errors import StoreUnavailable
from chatroom.store import Member, Message, RoomInfo, from_us, now_us

T = TypeVar("T")

MIGRATIONS = [
    """
    CREATE TABLE rooms (
        name TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        active_at BIGINT NOT NULL
    );
    CREATE INDEX rooms_by_activity ON rooms (active_at DESC);
    CREATE TABLE messages (
        room TEXT NOT NULL REFERENCES rooms (name),
        seq BIGINT NOT NULL,
        author TEXT NOT NULL,
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        sent_at BIGINT NOT NULL,
        PRIMARY KEY (room, seq)
    );
    """,
    """
    CREATE TABLE presence (
        room TEXT NOT NULL,
        uid TEXT NOT NULL,
        process TEXT NOT NULL,
        name TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (room, uid, process)
    );
    CREATE INDEX presence_by_process ON presence (process);
    CREATE INDEX presence_by_uid ON presence (uid);
    CREATE INDEX presence_by_expiry ON presence (expires_at);
    CREATE TABLE read_markers (
        uid TEXT NOT NULL,
        room TEXT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (uid, room)
    );
    """,
]

COLUMNS = "room, seq, author, author_id, text, sent_at"
# Connection refused, reset, timed out, server shutting down, bad SQL state: all mean "not now".
DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
TIMEOUT = 5.0  # seconds for a connect, an acquire or a query: a request waits this long at most


class PostgresStore:
    def __init__(self, url: str, min_size: int = 1, max_size: int = 5) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=TIMEOUT,
                command_timeout=TIMEOUT,
                max_inactive_connection_lifetime=60,
            )
        except DB_ERRORS as exc:
            raise StoreUnavailable(f"postgres: {exc!r}") from exc
        await self._run(_migrate)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), TIMEOUT)
            except (TimeoutError, *DB_ERRORS):
                pool.terminate()

    async def ping(self) -> None:
        await self._run(lambda db: db.fetchval("SELECT 1"))

    async def create_room(self, room: str) -> None:
        now = now_us()
        sql = "INSERT INTO rooms (name, created_at, active_at) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING"
        await self._run(lambda db: db.execute(sql, room, now))

    async def rooms(self, limit: int) -> list[RoomInfo]:
        sql = "SELECT name, last_seq FROM rooms ORDER BY active_at DESC, name LIMIT $1"
        rows = await self._run(lambda db: db.fetch(sql, limit))
        return [RoomInfo(name, last_seq) for name, last_seq in rows]

    async def append(self, room: str, author: str, author_id: str, text: str) -> Message:
        now = now_us()

        async def insert(db: asyncpg.Connection) -> int:
            async with db.transaction():
                # The upsert locks the room's row until commit, so writers in any process take turns:
                # `seq` is gapless, and commits happen in `seq` order.
                seq: int = await db.fetchval(
                    "INSERT INTO rooms (name, last_seq, created_at, active_at) VALUES ($1, 1, $2, $2) "
                    "ON CONFLICT (name) DO UPDATE SET last_seq = rooms.last_seq + 1, active_at = excluded.active_at "
                    "RETURNING last_seq",
                    room,
                    now,
                )
                await db.execute(
                    f"INSERT INTO messages ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                    room,
                    seq,
                    author,
                    author_id,
                    text,
                    now,
                )
            return seq

        seq = await self._run(insert)
        return Message(room, seq, author, author_id, text, from_us(now))

    async def latest(self, room: str, limit: int) -> list[Message]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE room = $1 ORDER BY seq DESC LIMIT $2"
        return await self._select(sql, (room, limit), reverse=True)

    async def before(self, room: str, seq: int, limit: int) -> list[Message]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        return await self._select(sql, (room, seq, limit), reverse=True)

    async def after(self, room: str, seq: int, limit: int) -> list[Message]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        return await self._select(sql, (room, seq, limit), reverse=False)

    async def last_seq(self, room: str) -> int:
        value = await self._run(lambda db: db.fetchval("SELECT last_seq FROM rooms WHERE name = $1", room))
        return int(value or 0)

    async def enter(self, process: str, entries: list[tuple[str, str, str]], expires_at: int) -> None:
        sql = (
            "INSERT INTO presence (room, uid, process, name, expires_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (room, uid, process) DO UPDATE SET name = excluded.name, expires_at = excluded.expires_at"
        )
        rows = [(room, uid, process, name, expires_at) for room, uid, name in entries]
        await self._run(lambda db: db.executemany(sql, rows))

    async def leave(self, process: str, entries: list[tuple[str, str]]) -> None:
        sql = "DELETE FROM presence WHERE room = $1 AND uid = $2 AND process = $3"
        rows = [(room, uid, process) for room, uid in entries]
        await self._run(lambda db: db.executemany(sql, rows))

    async def renew(self, process: str, expires_at: int) -> int:
        sql = "UPDATE presence SET expires_at = $1 WHERE process = $2"
        status: str = await self._run(lambda db: db.execute(sql, expires_at, process))
        return int(status.rsplit(" ", 1)[-1])

    async def expire(self, now: int) -> list[str]:
        return await self._delete_presence("expires_at <= $1", now)

    async def forget(self, process: str) -> list[str]:
        return await self._delete_presence("process = $1", process)

    async def rename(self, uid: str, name: str) -> list[str]:
        sql = "UPDATE presence SET name = $1 WHERE uid = $2 RETURNING room"
        rows = await self._run(lambda db: db.fetch(sql, name, uid))
        return sorted({row[0] for row in rows})

    async def members(self, room: str, now: int) -> list[Member]:
        sql = (
            "SELECT uid, MIN(name) AS name FROM presence WHERE room = $1 AND expires_at > $2 "
            'GROUP BY uid ORDER BY lower(MIN(name)) COLLATE "C", MIN(name) COLLATE "C", uid'
        )
        rows = await self._run(lambda db: db.fetch(sql, room, now))
        return [Member(uid, name) for uid, name in rows]

    async def online_counts(self, now: int) -> dict[str, int]:
        sql = "SELECT room, COUNT(DISTINCT uid) FROM presence WHERE expires_at > $1 GROUP BY room"
        rows = await self._run(lambda db: db.fetch(sql, now))
        return {room: int(count) for room, count in rows}

    async def present_rooms(self, uid: str, now: int) -> list[str]:
        sql = "SELECT DISTINCT room FROM presence WHERE uid = $1 AND expires_at > $2 ORDER BY room"
        rows = await self._run(lambda db: db.fetch(sql, uid, now))
        return [row[0] for row in rows]

    async def mark_read(self, entries: list[tuple[str, str, int]]) -> None:
        sql = (
            "INSERT INTO read_markers (uid, room, seq) VALUES ($1, $2, $3) "
            "ON CONFLICT (uid, room) DO UPDATE SET seq = GREATEST(read_markers.seq, excluded.seq)"
        )
        await self._run(lambda db: db.executemany(sql, entries))

    async def read_markers(self, uid: str) -> dict[str, int]:
        rows = await self._run(lambda db: db.fetch("SELECT room, seq FROM read_markers WHERE uid = $1", uid))
        return {room: int(seq) for room, seq in rows}

    async def _delete_presence(self, where: str, value: object) -> list[str]:
        sql = f"DELETE FROM presence WHERE {where} RETURNING room"
        rows = await self._run(lambda db: db.fetch(sql, value))
        return sorted({row[0] for row in rows})

    async def _select(self, sql: str, params: tuple[Any, ...], reverse: bool) -> list[Message]:
        rows = await self._run(lambda db: db.fetch(sql, *params))
        if reverse:
            rows.reverse()
        return [Message(r, s, a, aid, t, from_us(at)) for r, s, a, aid, t, at in rows]

    async def _run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._pool is None:
            raise StoreUnavailable("the store is closed")
        try:
            # A connection that broke mid-query is closed by asyncpg and replaced by the pool on the
            # next acquire, so the store heals by itself once the database is back.
            async with self._pool.acquire(timeout=TIMEOUT) as db:
                return await work(db)
        except DB_ERRORS as exc:
            raise StoreUnavailable(f"postgres: {exc!r}") from exc


async def _migrate(db: asyncpg.Connection) -> None:
    async with db.transaction():
        # Processes starting together queue here; each sees the version the previous one left.
        await db.execute("SELECT pg_advisory_xact_lock(hashtext('chatroom.migrate.' || current_schema()))")
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        version = await db.fetchval("SELECT version FROM schema_version")
        if version is None:
            version = 0
            await db.execute("INSERT INTO schema_version (version) VALUES (0)")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await db.execute(script)
            await db.execute("UPDATE schema_version SET version = $1", number)
