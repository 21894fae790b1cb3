"""The app running in this process under a TestClient: its hub, and calling into its event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.testclient import TestClient

from chatroom.rooms.hub import Hub

T = TypeVar("T")


def hub_of(client: TestClient) -> Hub:
    app = client.app
    while not isinstance(app, Starlette):  # wrapped, e.g. in a proxy's middleware
        app = app.app  # type: ignore[attr-defined]
    hub: Hub = app.state.chat.hub
    return hub


def in_app(client: TestClient, call: Callable[..., Awaitable[T]], *args: object) -> T:
    """`await call(*args)` on the app's event loop (the client must be started)."""
    assert client.portal is not None, "the client is not started (use it in a with block)"
    return client.portal.call(call, *args)
