"""Requests and sockets from chosen client addresses, and a clock that the address limits read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from chatroom.app import create_app
from chatroom.rooms.limits import AddressLimits
from chatroom.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def behind_proxy(settings: Settings, **changes: object) -> Iterator[tuple[TestClient, Clock]]:
    """A client whose requests come through a trusted proxy, as on the platform, so `at(address)` sets
    the client's address; and the clock of the app's address limits, which stands still until moved."""
    settings = replace(settings, **changes)  # type: ignore[arg-type]
    app = create_app(settings)
    clock = Clock()
    proxied: Any = ProxyHeadersMiddleware(app, trusted_hosts="testclient")  # typed for uvicorn's own ASGI types
    with TestClient(proxied, base_url="http://testserver") as client:
        app.state.chat.hub.limits = AddressLimits(settings, clock)
        yield client, clock


def at(address: str, **headers: str) -> dict[str, str]:
    """Headers that make a request or socket come from `address` (what the platform's proxy adds)."""
    return {"x-forwarded-for": address, **headers}
