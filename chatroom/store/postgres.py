"""PostgreSQL store: the same schema and semantics as SQLite, for several processes and machines.

The schema and queries are shared with SQLite (`chatroom.store.sql`); here is how PostgreSQL runs
them: on a pool of asyncpg connections, single statements in autocommit, `seq` under the room row's
lock, the schema version in the table `schema_version` under an advisory lock.

Query parameters in the URL that asyncpg does not know are sent as server settings, so
`?search_path=other` puts the tables in another schema (the tests use that for isolation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from chatroom.errors import CommandError, StoreUnavailable
from chatroom.store import Message, NewFile, from_us, now_us, search
from chatroom.store.sql import (
    COLUMNS,
    POSTGRES,
    Change,
    Row,
    SQLStore,
    file_rows,
    message,
    migrations,
    render,
    statements,
)

T = TypeVar("T")

MIGRATIONS = migrations(POSTGRES)
# Connection refused, reset, timed out, server shutting down, bad SQL state: all mean "not now".
DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
TIMEOUT = 5.0  # seconds for a connect, an acquire or a query: a request waits this long at most


class PostgresStore(SQLStore):
    sql = statements(POSTGRES)
    search_sql = render(search.query(search.POSTGRES_QUERY, COLUMNS), POSTGRES)

    @staticmethod
    def _matched(words: tuple[str, ...]) -> str:
        return " ".join(words)  # plainto_tsquery: every word, and none of it tsquery syntax

    def __init__(self, url: str, min_size: int = 1, max_size: int = 5) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None

    async def open(self, migrate: bool = True) -> None:
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
        if migrate:
            await self._run(_migrate)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), TIMEOUT)
            except (TimeoutError, *DB_ERRORS):
                pool.terminate()

    async def append(
        self,
        room: str,
        author: str,
        author_id: str,
        text: str,
        nonce: str | None = None,
        files: Sequence[NewFile] = (),
    ) -> Message:
        now = now_us()

        async def insert(db: asyncpg.Connection) -> Message:
            async with db.transaction():
                if nonce is not None:
                    stored = await db.fetchrow(self.sql.by_nonce, author_id, nonce)
                    if stored is not None:  # sent before: the same message, stored once
                        return message(stored)
                # The upsert locks the room's row until commit, so writers in any process take turns:
                # `seq` is gapless, and commits happen in `seq` order.
                seq: int = await db.fetchval(self.sql.next_seq, room, now, now)
                await db.execute(self.sql.insert_message, room, seq, author, author_id, text, now, nonce)
                if files:
                    await db.executemany(self.sql.insert_file, file_rows(room, seq, files))
            return Message(room, seq, author, author_id, text, from_us(now), files=tuple(f.attachment for f in files))

        return await self._run(insert)

    async def _change(self, room: str, id: int, kind: str, change: Change) -> int | None:
        now = now_us()

        async def apply(db: asyncpg.Connection) -> int | None:
            async with db.transaction():
                if change.guard is not None and await db.fetchrow(change.guard[0], *change.guard[1]) is None:
                    return None
                for sql, args in change.mutations:
                    if _changed_rows(await db.execute(sql, *args)):
                        break
                else:
                    return None
                for sql, args in change.then:
                    await db.execute(sql, *args)
                seq: int = await db.fetchval(self.sql.next_seq, room, now, now)
                await db.execute(self.sql.insert_change, room, seq, id, kind, now)
            return seq

        return await self._run(apply)

    async def _read(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda db: db.fetch(sql, *args))

    async def _write(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda db: db.fetch(sql, *args))  # autocommit: its own transaction

    async def _write_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        await self._run(lambda db: db.executemany(sql, rows))  # asyncpg runs the batch atomically

    async def _count(self, sql: str, *args: Any) -> int:
        return _changed_rows(await self._run(lambda db: db.execute(sql, *args)))

    async def _write_batches(self, batches: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None:
        async def run(db: asyncpg.Connection) -> None:
            async with db.transaction():
                for sql, rows in batches:
                    if rows:
                        await db.executemany(sql, rows)

        await self._run(run)

    async def migration_level(self) -> int:
        [(exists,)] = await self._read("SELECT to_regclass('schema_version') IS NOT NULL")
        rows = await self._read("SELECT version FROM schema_version") if exists else []
        return int(rows[0][0]) if rows else 0

    async def backup(self, path: str) -> None:
        raise CommandError(
            "The store is PostgreSQL, whose own tool makes consistent backups while it runs: "
            f'pg_dump --format=custom --file={path} "$DATABASE_URL" (restore with pg_restore)'
        )

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


def _changed_rows(status: str) -> int:
    """How many rows a statement changed, from its status ("UPDATE 1", "INSERT 0 1", "DELETE 0")."""
    return int(status.rsplit(" ", 1)[-1])


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
