"""The ceiling of this stack: a Starlette WebSocket endpoint that broadcasts in-process.

No store, no templates, no queues: each `{"message": t}` is encoded once and sent to every
socket of the room. Speaks the seed's JSON protocol on `/ws/socket-server/` (room `lobby`)
and `/ws/rooms/{room}/`. Run it as the product runs: `uvicorn bench.peers.bare:app`.
"""

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

WELCOME = json.dumps({"type": "connection_established", "message": "You are now connected!"})

rooms: dict[str, set[WebSocket]] = {}


async def chat(websocket: WebSocket) -> None:
    room = websocket.path_params.get("room", "lobby")
    members = rooms.setdefault(room, set())
    await websocket.accept()
    await websocket.send_text(WELCOME)
    members.add(websocket)
    try:
        while True:
            try:
                text = json.loads(await websocket.receive_text())["message"]
            except (ValueError, KeyError, TypeError):
                continue
            frame = json.dumps({"type": "chat", "message": text})
            for peer in tuple(members):
                try:  # noqa: SIM105 (the hot loop: a bare try costs nothing)
                    await peer.send_text(frame)
                except Exception:  # a peer that went away is removed by its own loop
                    pass
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(websocket)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        WebSocketRoute("/ws/socket-server/", chat),
        WebSocketRoute("/ws/rooms/{room}/", chat),
    ]
)
