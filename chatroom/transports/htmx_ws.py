"""The htmx WebSocket: form fields in, HTML fragments swapped out of band."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.websockets import WebSocket

from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.outbox import Frame
from chatroom.rooms.ratelimit import RateLimiter
from chatroom.transports.socket import RoomSocket
from chatroom.validation import Refused, room_name

# Browsers send one typing event per 2 s (hx-trigger throttle); more than this is not a browser.
TYPING_PER_SECOND = 1.0
TYPING_BURST = 3


class HtmxSocket(RoomSocket):
    transport = "htmx"

    def __init__(self, websocket: WebSocket, room: str) -> None:
        super().__init__(websocket, room)
        self._last_sent: object = None
        self._typing_limit = RateLimiter(TYPING_PER_SECOND, TYPING_BURST)

    async def started(self, feed: RoomFeed) -> None:
        snapshot = feed.snapshot_for(self.outbox)
        await self.send_text(snapshot + await self.hub.people_snapshot(self.room, self.outbox))

    async def write(self, frames: Sequence[Frame]) -> None:
        # Every top-level element carries hx-swap-oob, so a backlog can travel as one frame.
        await self.websocket.send_text(frames[0].html if len(frames) == 1 else "".join(f.html for f in frames))

    async def received(self, data: dict[str, Any]) -> None:
        if "typing" in data:
            self._typing(data.get("message"))
            return
        if "message" not in data:
            raise Refused("missing_message", 'The frame has no "message" field.')
        if await self.post(data["message"]):
            self._last_sent = data["message"]
            await self.send_text(self.hub.fragments.accepted)

    def _typing(self, text: object) -> None:
        """The input changed (htmx throttles it): show "… is typing" to the others, or stop when it is empty."""
        if self.known is None or not isinstance(text, str):
            return
        # A throttled event can trail the message it belongs to: that text was sent, not being typed.
        if text == self._last_sent or not self._typing_limit.allow("typing"):
            return
        self.hub.typed(self.room, self.known, bool(text.strip()))

    async def refused(self, refused: Refused) -> None:
        await self.send_text(self.hub.fragments.errors(refused.detail, oob=True))


async def htmx_socket(websocket: WebSocket) -> None:
    try:
        room = room_name(websocket.path_params["room"])
    except Refused:
        await websocket.close(code=1008)
        return
    await HtmxSocket(websocket, room).run()
