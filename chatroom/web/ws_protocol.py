"""The server's WebSocket protocol: uvicorn's websockets-sansio protocol, keeping less for each connection.

An idle connection is mostly what the server keeps for it, and uvicorn keeps more than it needs: an
`asyncio.Queue` for the frames the app has yet to receive (three deques of 64 slots and an `Event` with a
fourth: 3 KB, for a queue that holds one or two events at a time and has one reader), an `Event` for
"writable" (another deque), and after the handshake the request's parsed headers (the ASGI scope has
its own copy) and the response it no longer sends (2.5 KB). This protocol keeps a list and a future
instead, and lets the handshake's objects go once they are used: measured with `python -m bench.memory`,
6.3 KB less per connection. What goes on the wire is uvicorn's, unchanged. The Procfile selects it with
`--ws chatroom.web.ws_protocol:LeanWebSocketProtocol`; the `chatroom` script passes the class.

It also frames a text once for every connection it goes to: a server's frames are not masked, so without a
compression extension a text's frame is the same bytes on every connection, and the fan-out sends one text
object to all of a room's sockets in a row. uvicorn encodes and frames it again for each (a profile of the
bench's fan-out put a third of the server's time there, for HTML frames of a kilobyte).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN


class Inbox:
    """The events an ASGI app has yet to receive from its connection: what uvicorn uses of `asyncio.Queue`."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: ASGIReceiveEvent) -> None:
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._events

    def qsize(self) -> int:
        return len(self._events)

    async def get(self) -> ASGIReceiveEvent:
        while not self._events:
            if self._waiter is not None:
                raise RuntimeError("a WebSocket connection has one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.pop(0)


class Writable:
    """Whether the transport takes more bytes now: what uvicorn uses of `asyncio.Event`, a list only while waited on."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class SharedFrame:
    """The last text framed, and its frame: a fan-out's next connection gets the same bytes, not a new copy."""

    def __init__(self) -> None:
        self._text: str | None = None
        self._frame = b""

    def of(self, text: str) -> bytes:
        if text is not self._text:
            self._frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
            self._text = text
        return self._frame


FRAMED = SharedFrame()


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Writable()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope holds the headers as the app sees them; the parsed request (also kept by the websockets
        # parser's frame for the connection's life) is not read again.
        event.headers.clear()

    async def send(self, message: ASGISendEvent) -> None:
        text = message.get("text") if message["type"] == "websocket.send" else None
        if not isinstance(text, str) or message.get("bytes") is not None or not self._plain():
            await super().send(message)  # anything but a text on an open, uncompressed connection: uvicorn's way
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if not self._plain():  # it changed while the writer waited
            await super().send(message)
            return
        self.transport.write(FRAMED.of(text))

    def _plain(self) -> bool:
        """Whether a text frame goes out as it is: open, not closing, not mid-message, no extension."""
        conn = self.conn
        return (
            self.handshake_complete
            and not self.close_sent
            and self.initial_response is None
            and conn.state is OPEN
            and not conn.expect_continuation_frame
            and not conn.extensions
        )

    def start_keepalive(self) -> None:
        super().start_keepalive()  # called once, when the handshake's response has been sent
        self.response = None  # type: ignore[assignment]  # read again only before the handshake completes
