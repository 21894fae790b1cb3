"""PostgreSQL store: the same schema and semantics as SQLite, for several processes and machines.

The schema and queries are shared with SQLite (`chatroom.store.sql`); here is how PostgreSQL runs
them: on a pool of asyncpg connections, single statements in autocommit (appends grouped, many to one
statement: `chatroom.store.group_commit`), `seq` under the room row's lock, the schema version in the
table `schema_version` under an advisory lock.

Query parameters in the URL that asyncpg does not know are sent as server settings, so
`?search_path=other` puts the tables in another schema (the tests use that for isolation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import asyncpg

from chatroom.errors import CommandError, StoreUnavailable
from chatroom.mentions import mentioned
from chatroom.store import Message, from_us, now_us, search
from chatroom.store.group_commit import Appending, GroupCommit, Take
from chatroom.store.private import private_statements
from chatroom.store.sql import (
    MESSAGE,
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

# A batch of appends (`chatroom.store.group_commit`) in one statement, so one round trip and one commit.
# A nonce stored before gives the message stored with it, and one that comes twice in the batch is
# stored once (its first copy); each room's row is bumped once by its number of new messages, which
# locks it until commit (writers in any process take turns; rooms in name order, so two batches cannot
# deadlock), and the new messages of that room take the reserved `seq`s in the order they were
# appended. One row per append comes back, in that order: the message it stored (`fresh`) or found.
APPEND = """
WITH batch AS (
    SELECT b.*, row_number() OVER (PARTITION BY b.author_id, b.nonce ORDER BY b.n) AS copy
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bigint[])
        WITH ORDINALITY AS b (room, author, author_id, text, sent_at, nonce, mentioned, reply_to, n)
), known AS (
    SELECT batch.n, m.room, m.seq, m.author, m.author_id, m.text, m.sent_at, m.edited_at, m.deleted, m.reply_to
    FROM batch JOIN messages AS m ON m.author_id = batch.author_id AND m.nonce = batch.nonce
), fresh AS (
    SELECT * FROM batch WHERE (nonce IS NULL OR copy = 1) AND n NOT IN (SELECT n FROM known)
), reserved AS (
    INSERT INTO rooms AS r (name, last_seq, created_at, active_at)
    SELECT room, count(*), min(sent_at), max(sent_at) FROM fresh GROUP BY room ORDER BY room
    ON CONFLICT (name) DO UPDATE SET last_seq = r.last_seq + excluded.last_seq, active_at = excluded.active_at
    RETURNING name, last_seq
), numbered AS (
    SELECT fresh.*, reserved.last_seq - count(*) OVER same_room + row_number() OVER (same_room ORDER BY fresh.n) AS seq
    FROM fresh JOIN reserved ON reserved.name = fresh.room
    WINDOW same_room AS (PARTITION BY fresh.room)
), stored AS (
    INSERT INTO messages (room, seq, author, author_id, text, sent_at, nonce, reply_to)
    SELECT room, seq, author, author_id, text, sent_at, nonce, reply_to FROM numbered ORDER BY n
), mentioned AS (
    INSERT INTO mentions (name, room, seq)
    SELECT DISTINCT name, numbered.room, numbered.seq
    FROM numbered, unnest(string_to_array(numbered.mentioned, ' ')) AS name WHERE numbered.mentioned <> ''
)
SELECT room, seq, author, author_id, text, sent_at, edited_at, deleted, fresh, reply_to FROM (
    SELECT n, room, seq, author, author_id, text, sent_at, 0 AS edited_at, 0 AS deleted, reply_to, true AS fresh
        FROM numbered
    UNION ALL SELECT *, false FROM known
    UNION ALL SELECT batch.n, first.room, first.seq, first.author, first.author_id, first.text, first.sent_at,
        0, 0, first.reply_to, false
        FROM batch JOIN numbered AS first ON first.author_id = batch.author_id AND first.nonce = batch.nonce
        WHERE batch.copy > 1 AND batch.n NOT IN (SELECT n FROM known)
) AS appended ORDER BY n
"""
# A lone append's message and the names it mentions (`chatroom.mentions`): one statement, one round trip.
INSERT_ONE = """
WITH stored AS (
    INSERT INTO messages (room, seq, author, author_id, text, sent_at, nonce, reply_to)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    RETURNING room, seq
)
INSERT INTO mentions (name, room, seq) SELECT name, stored.room, stored.seq FROM stored, unnest($9::text[]) AS name
"""


class PostgresStore(SQLStore):
    sql = statements(POSTGRES)
    search_sql = render(search.query(search.POSTGRES_QUERY, MESSAGE), POSTGRES)
    private_sql = private_statements(lambda template: render(template, POSTGRES))

    @staticmethod
    def _matched(words: tuple[str, ...]) -> str:
        return " ".join(words)  # plainto_tsquery: every word, and none of it tsquery syntax

    def __init__(self, url: str, min_size: int = 1, max_size: int = 5) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._appends = GroupCommit(self._commit)

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

    async def _commit(self, take: Take) -> list[Message]:
        batch: list[Appending] = []

        async def insert(db: asyncpg.Connection) -> list[Message]:
            if not batch:  # taken once a connection is ours: what queued while waiting for one joins
                batch.extend(take())
            if len(batch) == 1:
                # Alone, the batch statement is slower than the plain transaction (measured: a lone sender's
                # round trip 1.9-2.7 ms against 1.3-2.0 ms), so a lone append is stored as it always was.
                return [await self._insert_one(db, batch[0])]
            columns = ([a.room for a in batch], [a.author for a in batch], [a.author_id for a in batch])
            more = (
                [a.text for a in batch],
                [a.sent_at for a in batch],
                [a.nonce for a in batch],
                [" ".join(mentioned(a.text)) for a in batch],
            )
            replies = [a.reply_to for a in batch]
            if not any(a.files for a in batch):  # one statement in autocommit: one round trip
                rows = await db.fetch(APPEND, *columns, *more, replies)
                return [_appended(row, a) for row, a in zip(rows, batch, strict=True)]
            async with db.transaction():  # a message's files are stored with it, or neither is
                rows = await db.fetch(APPEND, *columns, *more, replies)
                files = [
                    f for row, a in zip(rows, batch, strict=True) if row[8] for f in file_rows(a.room, row[1], a.files)
                ]
                await db.executemany(self.sql.insert_file, files)
            return [_appended(row, a) for row, a in zip(rows, batch, strict=True)]

        try:
            return await self._run(insert)
        except StoreUnavailable as exc:
            if not isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                raise
            # A nonce stored by another process while this batch ran (a retry sent to two processes at
            # once): once more, and the batch finds it stored.
            return await self._run(insert)

    async def _insert_one(self, db: asyncpg.Connection, a: Appending) -> Message:
        async with db.transaction():
            if a.nonce is not None:
                stored = await db.fetchrow(self.sql.by_nonce, a.author_id, a.nonce)
                if stored is not None:  # sent before: the same message, stored once
                    return message(stored)
            # The upsert locks the room's row until commit, so writers in any process take turns:
            # `seq` is gapless, and commits happen in `seq` order.
            seq: int = await db.fetchval(self.sql.next_seq, a.room, a.sent_at, a.sent_at)
            row = (a.room, seq, a.author, a.author_id, a.text, a.sent_at, a.nonce, a.reply_to)
            names = list(mentioned(a.text))
            await (db.execute(INSERT_ONE, *row, names) if names else db.execute(self.sql.insert_message, *row))
            if a.files:
                await db.executemany(self.sql.insert_file, file_rows(a.room, seq, a.files))
        files = tuple(f.attachment for f in a.files)
        sent_at = from_us(a.sent_at)
        return Message(a.room, seq, a.author, a.author_id, a.text, sent_at, files=files, reply_to=a.reply_to)

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

    async def _read_each(self, sql: str, each: Sequence[tuple[Any, ...]]) -> list[list[Row]]:
        async def fetch_each(db: asyncpg.Connection) -> list[list[Row]]:
            return [await db.fetch(sql, *args) for args in each]

        return await self._run(fetch_each)

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


def _appended(row: Row, appending: Appending) -> Message:
    """The message an append stored (with its files), or the one stored before with its nonce."""
    stored = replace(message(row[:8]), reply_to=int(row[9]))
    if not row[8]:
        return stored
    return replace(stored, files=tuple(f.attachment for f in appending.files))


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
            if script.strip():  # a migration of SQLite's alone is a level here too, with nothing to run
                await db.execute(script)
            await db.execute("UPDATE schema_version SET version = $1", number)
