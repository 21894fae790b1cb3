"""What a socket keeps once it is in: not the handshake's headers (its cookie, its origin), but still its address."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from chatroom.app import create_app
from chatroom.settings import Settings
from tests.addresses import at
from tests.wire import recv, recv_json

pytestmark = pytest.mark.timeout(60)

A, B = "203.0.113.1", "198.51.100.2"


def test_a_socket_lets_go_of_its_headers_once_in_and_still_counts_against_its_address(settings: Settings) -> None:
    app = create_app(replace(settings, max_connections_per_address=1))
    scopes: list[dict[str, Any]] = []

    async def seen(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scopes.append(scope)
        await app(scope, receive, send)

    proxied: Any = ProxyHeadersMiddleware(seen, trusted_hosts="testclient")
    with TestClient(proxied, base_url="http://testserver") as client, ExitStack() as opened:
        first = opened.enter_context(client.websocket_connect("/rooms/lobby/ws?from=1", headers=at(A, cookie="x=1")))
        assert "messages" in recv(first)  # in, with its snapshot
        (scope,) = scopes
        assert list(scope["headers"]) == [], "the headers (the cookie, the origin) are not kept for the socket's life"
        assert scope["client"][0] == A, "the address stays: the limits and the log read it"
        # The address's one connection is taken: the next socket from it is refused, one from elsewhere is not.
        with client.websocket_connect("/ws/rooms/lobby/", headers=at(A)) as second:
            with pytest.raises(WebSocketDisconnect) as refused:
                recv_json(second)
            assert refused.value.code == 1013
        with client.websocket_connect("/ws/rooms/lobby/", headers=at(B)) as elsewhere:
            assert recv_json(elsewhere)["type"] == "connection_established"
        # And it still works: a message from it reaches it.
        first.send_json({"message": "still here"})
        assert "still here" in "".join(recv(first) for _ in range(2))
