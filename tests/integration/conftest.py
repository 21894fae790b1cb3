"""Real uvicorn processes sharing a Redis and a PostgreSQL of the test's own choosing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatroom.store import Message, open_store
from tests.databases import postgres_schema
from tests.integration.servers import AppServer, PostgresServer, RedisServer


@pytest.fixture
def room() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own on a spare port, for tests that stop it."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A schema of this test's own in the shared `test` database."""
    with postgres_schema("it") as url:
        yield url


AppFactory = Callable[..., list[AppServer]]


@pytest.fixture
def start_apps(tmp_path: Path) -> Iterator[AppFactory]:
    """start_apps(n, DATABASE_URL=..., REDIS_URL=...): n processes started at once, stopped at the end.

    Tests list it after the servers it uses, so the apps stop before their Redis and database go away.
    """
    started: list[AppServer] = []

    def start(count: int, **env: str) -> list[AppServer]:
        settings = {
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "integration-secret",
            "HISTORY_LIMIT": "500",
            "RATE_LIMIT_PER_SECOND": "1000",
            "RATE_LIMIT_BURST": "1000",
            "RATE_LIMIT_PER_ADDRESS": "1000",  # every test client comes from 127.0.0.1
            **env,
        }
        apps = [AppServer(settings, tmp_path) for _ in range(count)]
        started.extend(apps)
        for app in apps:
            app.launch()
        for app in apps:
            app.wait_ready()
        return apps

    yield start
    for app in started:
        app.stop()


async def stored(url: str, room: str) -> list[Message]:
    """Every message of the room, read straight from the database."""
    store = open_store(url)
    await store.open()
    try:
        return await store.after(room, 0, 100_000)
    finally:
        await store.close()
