"""The floor of the stack: a raw ASGI application, no framework, that broadcasts in-process.

What the server (uvicorn and its WebSocket implementation, with the Procfile's flags) costs by itself: each
`{"message": t}` is encoded once and sent to every socket of the room, straight through ASGI's `send`. Speaks
the seed's JSON protocol on `/ws/socket-server/` (room `lobby`) and `/ws/rooms/{room}/`; `/healthz` answers
200. Run it as the product runs: `uvicorn bench.peers.raw:app` with the Procfile's flags.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

WELCOME = json.dumps({"type": "connection_established", "message": "You are now connected!"})
ROOMS_PREFIX = "/ws/rooms/"

rooms: dict[str, set[Send]] = {}


def room_of(path: str) -> str | None:
    if path == "/ws/socket-server/":
        return "lobby"
    if path.startswith(ROOMS_PREFIX) and path.endswith("/") and len(path) > len(ROOMS_PREFIX) + 1:
        return path[len(ROOMS_PREFIX) : -1]
    return None


async def chat(room: str, receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": WELCOME})
    members = rooms.setdefault(room, set())
    members.add(send)
    try:
        while True:
            event = await receive()
            if event["type"] != "websocket.receive":
                return
            try:
                text = json.loads(event.get("text") or event.get("bytes") or b"")["message"]
            except (ValueError, KeyError, TypeError):
                continue
            frame = {"type": "websocket.send", "text": json.dumps({"type": "chat", "message": text})}
            for peer in tuple(members):
                try:  # noqa: SIM105 (the hot loop: a bare try costs nothing)
                    await peer(frame)
                except Exception:  # a peer that went away is removed by its own loop
                    pass
    finally:
        members.discard(send)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        room = room_of(scope["path"])
        if room is None:
            await send({"type": "websocket.close", "code": 1008})
            return
        await chat(room, receive, send)
        return
    found = scope["path"] == "/healthz"
    body = b'{"status":"ok"}' if found else b"not found"
    kind = b"application/json" if found else b"text/plain"
    await send({"type": "http.response.start", "status": 200 if found else 404, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})
