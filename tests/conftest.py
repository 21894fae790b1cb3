from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketTestSession

from chatroom.app import create_app
from chatroom.settings import Settings
from chatroom.store import MessageStore, open_store
from tests.databases import postgres_schema
from tests.integration.servers import PostgresServer
from tests.wire import recv

SNAPSHOT = re.compile(r'^<ul id="messages"[^>]* hx-swap-oob="innerHTML">')


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        database_url=f"sqlite:///{tmp_path / 'chat.sqlite3'}",
        broadcast_url="memory://",
    )


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def make_client(settings: Settings) -> Iterator[object]:
    """A client over an app with some settings changed: make_client(history_limit=3)."""
    clients: list[TestClient] = []

    def make(**changes: object) -> TestClient:
        client = TestClient(create_app(replace(settings, **changes)), base_url="http://testserver")
        clients.append(client)
        return client.__enter__()

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def join() -> Iterator[object]:
    """join(client, room="lobby", **kwargs): an open htmx socket whose snapshot was read; closed at teardown."""
    sockets: list[WebSocketTestSession] = []

    def open_socket(client: TestClient, room: str = "lobby", **kwargs: object) -> WebSocketTestSession:
        ws = client.websocket_connect(f"/rooms/{room}/ws", **kwargs).__enter__()  # type: ignore[arg-type]
        sockets.append(ws)
        assert SNAPSHOT.match(recv(ws)), "the first frame is the snapshot"
        return ws

    yield open_socket
    for ws in reversed(sockets):
        with contextlib.suppress(Exception):
            ws.__exit__(None, None, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs against every implementation."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    else:
        with postgres_schema("test_store") as url:
            yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[MessageStore]:
    store = open_store(store_url)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own on a spare port, for tests that stop it."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()
