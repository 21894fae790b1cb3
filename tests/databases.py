"""PostgreSQL for the tests: the shared server at 127.0.0.1:5432 (database `test`), one schema per test."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import asyncpg

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def require_postgres() -> None:
    """A missing PostgreSQL fails the test, never skips it: `scripts/test` starts it."""
    require_port(POSTGRES_URL, 5432, "PostgreSQL")


def require_port(url: str, default_port: int, what: str) -> None:
    """Fail at once, with the remedy, when nothing listens where `url` points."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        raise RuntimeError(f"no {what} on {host}:{port}: run ./scripts/test, which starts it") from exc


def execute(url: str, sql: str) -> None:
    async def run() -> None:
        db = await asyncpg.connect(url)
        try:
            await db.execute(sql)
        finally:
            await db.close()

    asyncio.run(run())


@contextmanager
def postgres_schema(prefix: str = "test") -> Iterator[str]:
    """A database URL whose tables live in a schema of their own, so parallel runs never meet."""
    require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    execute(POSTGRES_URL, f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?search_path={schema}"
    finally:
        execute(POSTGRES_URL, f"DROP SCHEMA {schema} CASCADE")
