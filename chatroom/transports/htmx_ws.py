"""The htmx WebSocket: form fields in, HTML fragments swapped out of band."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Sequence
from typing import Any

from starlette.websockets import WebSocket

from chatroom.errors import ChatError, Refused
from chatroom.rooms.outbox import Frame, html_in
from chatroom.rooms.starts import Start
from chatroom.transports.socket import RoomSocket
from chatroom.validation import room_name, whole_number


class Joined:
    """The frames last joined into one text, and the text: a turn's frames are the same for each socket of a room
    (in one time zone), so they are joined, and then framed (`SharedFrame`), once for all of them."""

    __slots__ = ("_frames", "_text", "_zone")

    def __init__(self) -> None:
        self._frames: Sequence[Frame] = ()
        self._zone = ""
        self._text = ""

    def text(self, frames: Sequence[Frame], zone: str) -> str:
        kept = self._frames
        if zone != self._zone or len(kept) != len(frames) or any(a is not b for a, b in zip(kept, frames, strict=True)):
            self._frames, self._zone = tuple(frames), zone
            self._text = "".join(html_in(frame, zone) for frame in frames)
        return self._text


JOINED = Joined()


class HtmxSocket(RoomSocket):
    __slots__ = ("_last_sent", "_sending")

    transport = "htmx"

    def __init__(self, websocket: WebSocket, room: str) -> None:
        super().__init__(websocket, room)
        self._last_sent: object = None
        self._sending: object = None  # the text of the message being posted, put back in the box if refused
        # The page's first message (`?from=`): the snapshot starts there, so older pages it loaded stay.
        self.shown_from = whole_number(websocket.query_params.get("from", "")) or None

    async def started(self, start: Start) -> None:
        await self.send_text(start.snapshot + self.hub.fragments.live + start.people)

    async def closing_for_good(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):  # the peer may be gone already
            await self.send_text(self.hub.fragments.ended)

    def texts(self, frames: Sequence[Frame]) -> list[str]:
        # Every top-level element carries hx-swap-oob, so a backlog can travel as one frame.
        return [html_in(frames[0], self.zone) if len(frames) == 1 else JOINED.text(frames, self.zone)]

    async def received(self, data: dict[str, Any]) -> None:
        self._sending = None
        if "typing" in data:
            self._typing(data.get("message"))
            return
        if "message" not in data:
            raise Refused("missing_message", 'The frame has no "message" field.')
        self._sending = data["message"]
        if await self.post(data["message"], data.get("nonce"), data.get("reply_to")):
            self._last_sent = data["message"]
            await self.send_text(self.hub.fragments.accepted())

    def _typing(self, text: object) -> None:
        """The input changed (htmx throttles it): show "… is typing" to the others, or stop when it is empty."""
        if self.known is None or not isinstance(text, str):
            return
        # A throttled event can trail the message it belongs to: that text was sent, not being typed.
        if text == self._last_sent:
            return
        self.hub.typing_event(self.room, self.known, bool(text.strip()), self.address)

    async def refused(self, error: ChatError) -> None:
        # Sending emptied the box (a form reset): a refused text goes back in it, with the reason.
        text = self._sending if isinstance(self._sending, str) and self._sending.strip() else ""
        back = self.hub.fragments.message_input(text, oob=True) if text else ""
        await self.send_text(self.hub.fragments.errors(error.detail, oob=True) + back)


def htmx_socket(websocket: WebSocket) -> Awaitable[None]:
    """The connection, awaited by the app (or Starlette's route): `HtmxSocket.run` itself, so that no coroutine of
    this function's stays between the connection's task and its read for the connection's life."""
    try:
        room = room_name(websocket.path_params["room"])
    except Refused:
        return websocket.close(code=Refused.close)
    return HtmxSocket(websocket, room).run()
