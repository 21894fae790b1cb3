"""SQLite store: the embedded default. One connection, used from one thread, in WAL mode.

The schema and queries are shared with PostgreSQL (`chatroom.store.sql`); here is how SQLite runs
them: on a worker thread, every write in a `BEGIN IMMEDIATE` transaction (appends grouped, many to a
commit: `chatroom.store.group_commit`), the schema version in `PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from chatroom.errors import CommandError, StoreUnavailable
from chatroom.mentions import mentioned
from chatroom.store import Message, from_us, now_us, search
from chatroom.store.group_commit import Appending, Take, ThreadGroupCommit
from chatroom.store.private import private_statements
from chatroom.store.sql import (
    MESSAGE,
    SQLITE,
    WORDS_AT_COMMIT,
    Change,
    Row,
    SQLStore,
    file_rows,
    message,
    migrations,
    render,
    statements,
)
from chatroom.store.sql import MIGRATIONS as SCHEMA

T = TypeVar("T")

MIGRATIONS = migrations(SQLITE)
# From this schema level on, a write transaction indexes the words of the messages it stored (see search.py).
WORDS_LEVEL = SCHEMA.index(WORDS_AT_COMMIT) + 1


class SQLiteStore(SQLStore):
    sql = statements(SQLITE)
    private_sql = private_statements(lambda template: render(template, SQLITE))
    search_sql = search.query(search.SQLITE_QUERY, MESSAGE)

    @staticmethod
    def _matched(words: tuple[str, ...]) -> str:
        return search.fts5_words(words)

    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///") or ":memory:"
        self._db: sqlite3.Connection | None = None
        self._words = False  # whether writes index new messages' words (the schema's level is WORDS_LEVEL or more)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._appends = ThreadGroupCommit(self._thread, self._commit)

    async def open(self, migrate: bool = True) -> None:
        self._db = await self._call(self._connect, migrate)

    async def close(self) -> None:
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._thread.shutdown(wait=True)

    def _commit(self, take: Take) -> list[Message]:
        db = self._db
        if db is None:
            raise StoreUnavailable("the store is closed")
        with _translated():
            # The batch is taken once the write lock is held: what queued while waiting for it joins.
            return self._writing(db, lambda: [self._insert(db, a) for a in take()])

    def _writing(self, db: sqlite3.Connection, work: Callable[[], T]) -> T:
        return _transaction(db, work, words=self._words)

    def _insert(self, db: sqlite3.Connection, a: Appending) -> Message:
        if a.nonce is not None:
            stored = db.execute(self.sql.by_nonce, (a.author_id, a.nonce)).fetchone()
            if stored is not None:  # sent before (or earlier in this batch): the same message, stored once
                return message(stored)
        (seq,) = db.execute(self.sql.next_seq, (a.room, a.sent_at, a.sent_at)).fetchone()
        row = (a.room, seq, a.author, a.author_id, a.text, a.sent_at, a.nonce, a.reply_to)
        db.execute(self.sql.insert_message, row)
        names = mentioned(a.text)
        if names:
            db.executemany(self.sql.insert_mention, [(name, a.room, seq) for name in names])
        if a.files:
            db.executemany(self.sql.insert_file, file_rows(a.room, seq, a.files))
        files = tuple(f.attachment for f in a.files)
        sent_at = from_us(a.sent_at)
        return Message(a.room, int(seq), a.author, a.author_id, a.text, sent_at, files=files, reply_to=a.reply_to)

    async def _change(self, room: str, id: int, kind: str, change: Change) -> int | None:
        now = now_us()

        def apply(db: sqlite3.Connection) -> int | None:
            if change.guard is not None and db.execute(*change.guard).fetchone() is None:
                return None
            if not any(db.execute(sql, args).rowcount for sql, args in change.mutations):
                return None  # `any` stops at the first statement that changed a row
            for sql, args in change.then:
                db.execute(sql, args)
            (seq,) = db.execute(self.sql.next_seq, (room, now, now)).fetchone()
            db.execute(self.sql.insert_change, (room, seq, id, kind, now))
            return int(seq)

        return await self._run(lambda db: self._writing(db, lambda: apply(db)))

    async def _read(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda db: db.execute(sql, args).fetchall())

    async def _read_each(self, sql: str, each: Sequence[tuple[Any, ...]]) -> list[list[Row]]:
        return await self._run(lambda db: [db.execute(sql, args).fetchall() for args in each])

    async def _write(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda db: self._writing(db, lambda: db.execute(sql, args).fetchall()))

    async def _write_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        await self._run(lambda db: self._writing(db, lambda: db.executemany(sql, rows)))

    async def _count(self, sql: str, *args: Any) -> int:
        return await self._run(lambda db: self._writing(db, lambda: db.execute(sql, args).rowcount))

    async def _write_batches(self, batches: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None:
        def run(db: sqlite3.Connection) -> None:
            for sql, rows in batches:
                db.executemany(sql, rows)

        await self._run(lambda db: self._writing(db, lambda: run(db)))

    async def migration_level(self) -> int:
        rows = await self._read("PRAGMA user_version")
        return int(rows[0][0])

    async def backup(self, path: str) -> None:
        target = Path(path)
        partial = target.with_name(f".{target.name}.partial")

        def copy(db: sqlite3.Connection) -> None:
            if target.exists():
                raise CommandError(f"{path} exists already: back up to a new file, so no backup is overwritten")
            # SQLite's online backup copies every page under one read transaction: a consistent copy,
            # while other connections (the running server's) keep writing in WAL mode.
            copy = sqlite3.connect(partial)
            try:
                db.backup(copy)
                # A restored backup is another log from the moment it was taken: clients' places are not its.
                copy.execute(self.sql.new_epoch)
                copy.commit()
            finally:
                copy.close()
            partial.replace(target)

        try:
            await self._run(copy)
        finally:
            await self._run(lambda db: partial.unlink(missing_ok=True))

    def _connect(self, migrate: bool) -> sqlite3.Connection:
        if self.path != ":memory:":
            if not migrate and not Path(self.path).is_file():
                raise CommandError(f"There is no SQLite store at {self.path} (DATABASE_URL, or DATA_DIR/chat.sqlite3)")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 5000")  # other processes sharing the file wait, not fail
        _enable_wal(db)
        db.execute("PRAGMA synchronous = FULL")  # an acknowledged message survives a power cut too
        db.execute("PRAGMA foreign_keys = ON")
        if migrate:
            _migrate(db)
        (level,) = db.execute("PRAGMA user_version").fetchone()
        self._words = level >= WORDS_LEVEL
        return db

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            raise StoreUnavailable("the store is closed")
        return await self._call(work, self._db)

    async def _call(self, work: Callable[..., T], *args: object) -> T:
        with _translated():
            return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailable(f"sqlite: {exc}") from exc


def _transaction(db: sqlite3.Connection, work: Callable[[], T], words: bool = False) -> T:
    """`work` in one transaction; with `words`, the words of the messages it stored are indexed before the commit."""
    db.execute("BEGIN IMMEDIATE")  # takes the write lock first, so `seq` is gapless across processes
    try:
        if words:
            (last,) = db.execute(search.SQLITE_LAST_POSITION).fetchone()
        result = work()
        if words:
            db.execute(search.SQLITE_NEW_WORDS, (last,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a COMMIT that failed (an I/O error) leaves the transaction open
            db.execute("ROLLBACK")
        raise
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
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")

    _transaction(db, run)


def _statements(script: str) -> list[str]:
    """A script's statements, one by one; a trigger's body (`BEGIN …; …; END`) is one statement."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending)
            pending = ""
    return [statement for statement in found if statement.strip()] + ([pending] if pending.strip() else [])
