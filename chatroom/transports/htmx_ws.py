"""The htmx WebSocket: form fields in, HTML fragments swapped out of band."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from chatroom.feed import RoomFeed
from chatroom.outbox import Frame
from chatroom.transports.socket import RoomSocket
from chatroom.validation import Refused, room_name


class HtmxSocket(RoomSocket):
    transport = "htmx"

    async def started(self, feed: RoomFeed) -> None:
        await self.send_text(feed.snapshot())

    def encode(self, frames: list[Frame]) -> list[str]:
        # Every top-level element carries hx-swap-oob, so a backlog can travel as one frame.
        return ["".join(frame.html for frame in frames)]

    async def received(self, data: dict[str, Any]) -> None:
        if "message" not in data:
            raise Refused("missing_message", 'The frame has no "message" field.')
        if await self.post(data["message"]):
            await self.send_text(self.hub.fragments.accepted)

    async def refused(self, refused: Refused) -> None:
        await self.send_text(self.hub.fragments.errors(refused.detail, oob=True))


async def htmx_socket(websocket: WebSocket) -> None:
    try:
        room = room_name(websocket.path_params["room"])
    except Refused:
        await websocket.close(code=1008)
        return
    await HtmxSocket(websocket, room).run()
