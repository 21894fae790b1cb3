"""The unit tier: the app in this process through Starlette's TestClient, over a temporary SQLite and memory://.

No test here may open a network connection or start a process (the guard below fails it), so the tier
needs no service and runs in seconds; what needs PostgreSQL, Redis or real servers is in the other tiers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pytest
from argon2 import PasswordHasher, profiles
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketTestSession

from chatroom.accounts import passwords
from chatroom.app import create_app
from chatroom.settings import Settings
from tests.people import Lobby, Session, session
from tests.wire import SNAPSHOT, members, recv, wait_for


class ServiceUsed(AssertionError):
    """A unit test tried to reach a server or start a process."""


@pytest.fixture(autouse=True)
def no_network_no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connecting a socket anywhere or starting a process fails the test (TestClient needs neither)."""

    def refuse(what: str) -> Callable[..., Any]:
        def refused(*args: object, **kwargs: object) -> Any:
            raise ServiceUsed(f"a unit test may not {what}: {args[1:] or args}")

        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("connect a socket"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect a socket"))
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("start a process"))
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse("start a process"))


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with its cheapest parameters: the same code path, a thousandth of the cost."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))


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


class MakeClient(Protocol):
    def __call__(self, **changes: Any) -> TestClient: ...


@pytest.fixture
def make_client(settings: Settings) -> Iterator[MakeClient]:
    """A client over an app with some settings changed: make_client(history_limit=3)."""
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        client = TestClient(create_app(replace(settings, **changes)), base_url="http://testserver")
        clients.append(client)
        return client.__enter__()

    yield make
    for client in clients:
        client.__exit__(None, None, None)


class Join(Protocol):
    def __call__(
        self, client: TestClient, room: str = "lobby", *, headers: dict[str, str] | None = None
    ) -> WebSocketTestSession: ...


@pytest.fixture
def join() -> Iterator[Join]:
    """join(client, room="lobby", headers=...): an open htmx socket whose snapshot was read; closed at teardown."""
    sockets: list[WebSocketTestSession] = []

    def open_socket(
        client: TestClient, room: str = "lobby", *, headers: dict[str, str] | None = None
    ) -> WebSocketTestSession:
        ws = client.websocket_connect(f"/rooms/{room}/ws", headers=dict(headers or {})).__enter__()
        sockets.append(ws)
        assert SNAPSHOT.match(recv(ws)), "the first frame is the snapshot"
        return ws

    yield open_socket
    for ws in reversed(sockets):
        with contextlib.suppress(Exception):
            ws.__exit__(None, None, None)


@pytest.fixture
def alice(client: TestClient) -> Session:
    return session(client, "alice")


@pytest.fixture
def bob(client: TestClient) -> Session:
    return session(client, "bob")


@pytest.fixture
def lobby(client: TestClient, join: Join, alice: Session, bob: Session) -> Lobby:
    """Alice and Bob in #lobby, each with an htmx socket that has seen them both arrive."""
    at_alice = join(client, headers=alice)
    at_bob = join(client, headers=bob)
    wait_for(at_alice, members, ["alice", "bob"])
    return Lobby(at_alice, at_bob)
