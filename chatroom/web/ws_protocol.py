"""The server's WebSocket protocol: uvicorn's websockets-sansio protocol, keeping less for each connection.

An idle connection is mostly what the server keeps for it, and uvicorn keeps more than it needs: an
`asyncio.Queue` for the frames the app has yet to receive (three deques of 64 slots and an `Event` with a
fourth: 3 KB, for a queue that holds one or two events at a time and has one reader), an `Event` for
"writable" (another deque), and after the handshake the request's parsed headers (the ASGI scope has
its own copy) and the response it no longer sends (2.5 KB). This protocol keeps a list and a future
instead, and lets the handshake's objects go once they are used: measured with `python -m bench.memory`,
6.3 KB less per connection. It also keeps its attributes few enough for Python to share their dict's keys
(what every connection of a server has in common is read from one `Served`), shares the scope's constant
parts, waits for an event without a coroutine of the inbox's, and puts keepalive pings on one timer per
server (`PingTimes`) instead of one per connection: about 2.4 KB less again. What goes on the wire is uvicorn's,
unchanged (a ping is sent up to a second later). The Procfile selects it with
`--ws chatroom.web.ws_protocol:LeanWebSocketProtocol`; the `chatroom` script passes the class.

It also frames a text once for every connection it goes to: a server's frames are not masked, so without a
compression extension a text's frame is the same bytes on every connection, and the fan-out sends one text
object to all of a room's sockets in a row. uvicorn encodes and frames it again for each (a profile of the
bench's fan-out put a third of the server's time there, for HTML frames of a kilobyte). And it lets the app
write texts straight to a plain connection (`write_now`, found from the app's ASGI `send` by `lean_protocol`):
a fan-out's write to each socket is then a call, not five coroutines and an ASGI event.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, ClassVar, Literal, Protocol

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol


class Inbox:
    """The events an ASGI app has yet to receive from its connection: what uvicorn uses of `asyncio.Queue`."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: ASGIReceiveEvent) -> None:
        self._events.append(event)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._events

    def qsize(self) -> int:
        return len(self._events)

    def arrival(self) -> asyncio.Future[None]:
        """Done when the next event is put: a future, not a coroutine, so waiting adds no frame to the reader's."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            raise RuntimeError("a WebSocket connection has one reader at a time")
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def take(self) -> ASGIReceiveEvent:
        return self._events.pop(0)

    async def get(self) -> ASGIReceiveEvent:
        while not self._events:
            await self.arrival()
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
    """The texts framed last, and their frames: a fan-out's next connection gets the same bytes, not a new copy.
    A few, so that a backlog of several texts sent to each connection in turn is framed once too."""

    kept = 8

    def __init__(self) -> None:
        self._frames: dict[int, tuple[str, bytes]] = {}  # id of a text -> the text (so the id stays its) and frame

    def of(self, text: str) -> bytes:
        kept = self._frames.get(id(text))
        if kept is not None and kept[0] is text:
            return kept[1]
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
        if len(self._frames) >= self.kept:
            del self._frames[next(iter(self._frames))]
        self._frames[id(text)] = (text, frame)
        return frame


FRAMED = SharedFrame()


def lean_protocol(send: object) -> LeanWebSocketProtocol | None:
    """The connection behind an app's ASGI `send`, when it is this protocol's (under any other server, None)."""
    protocol = getattr(send, "__self__", None)
    return protocol if isinstance(protocol, LeanWebSocketProtocol) else None


class Pinging(Protocol):
    def send_keepalive_ping(self) -> None: ...


class Due:
    """A connection's next keepalive ping, as `PingTimes` keeps it; cancelled as uvicorn cancels its timer."""

    __slots__ = ("connection",)

    def __init__(self, connection: Pinging) -> None:
        self.connection: Pinging | None = connection

    def cancel(self) -> None:
        self.connection = None


class PingTimes:
    """When connections are due their keepalive ping, to the `tick`: one timer of the loop for all of them. uvicorn
    keeps a timer per connection, for its life (0.5 KB each with uvloop's); a ping is sent up to a tick later."""

    tick = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: dict[int, list[Due]] = {}  # tick number -> the pings due then
        self._timer: asyncio.TimerHandle | None = None
        self._next = 0  # the tick the timer is set for

    def later(self, delay: float, connection: Pinging) -> Due:
        at = math.ceil((self.loop.time() + delay) / self.tick)
        due = Due(connection)
        self._due.setdefault(at, []).append(due)
        if self._timer is None or at < self._next:
            self._arm()
        return due

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._next = min(self._due)
        self._timer = self.loop.call_at(self._next * self.tick, self._run)

    def _run(self) -> None:
        self._timer = None
        now = max(self._next, math.floor(self.loop.time() / self.tick))  # a timer may fire a hair early
        for at in sorted(at for at in self._due if at <= now):
            for due in self._due.pop(at):
                connection, due.connection = due.connection, None
                if connection is None:
                    continue
                try:
                    connection.send_keepalive_ping()
                except Exception as exc:  # as the loop would for a timer of its own: the others still get theirs
                    self.loop.call_exception_handler({"message": "keepalive ping failed", "exception": exc})
        if self._due:
            self._arm()


class Served:
    """What every connection of one server has in common, which uvicorn keeps on each connection."""

    __slots__ = (
        "app",
        "app_state",
        "asgi",
        "config",
        "extensions",
        "logger",
        "loop",
        "pings",
        "server",
        "server_state",
    )

    def __init__(
        self, config: Config, server_state: ServerState, app_state: dict[str, Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.config = config
        self.app = config.loaded_app
        self.loop = loop
        self.logger = socket_logger()
        self.app_state = app_state
        self.server_state = server_state
        self.asgi = {"version": config.asgi_version, "spec_version": "2.4"}  # the scope's, read only
        self.extensions: dict[str, Any] = {"websocket.http.response": {}}
        self.pings = PingTimes(loop)
        self.server: tuple[str, int | None] | None = None  # the address connections arrive on, as the last one did

    def of(
        self, config: Config, server_state: ServerState, app_state: dict[str, Any], loop: asyncio.AbstractEventLoop
    ) -> Served:
        """This one if it is that server's, else a new one."""
        same = self.config is config and self.server_state is server_state and self.app_state is app_state
        return self if same and self.loop is loop else Served(config, server_state, app_state, loop)


def socket_logger() -> logging.Logger:
    """The logger of the server's sockets: uvicorn's, under it, without the lines it writes at INFO for every socket
    ("[accepted]", "connection open", "connection closed"). The chat logs each socket's opening and closing itself,
    once, with its room, connection and person (`connect …`, `disconnect …`); the three lines more per socket said
    it again without them, and writing them was a tenth of the server's time in a storm of reconnecting clients.
    Warnings and errors go on to uvicorn's log as before; below INFO (`--log-level debug`) nothing is left out."""
    logger = logging.getLogger("uvicorn.error.websocket")
    if logging.getLogger("uvicorn.error").getEffectiveLevel() >= logging.INFO:
        logger.setLevel(logging.WARNING)
    return logger


def _shared(path: str) -> Any:
    return property(attrgetter(path))


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    # A connection's own state is uvicorn's, attribute by attribute (its `__init__`, below, without what the
    # server's connections share). Python shares the keys of an object's attribute dict among the objects of its
    # class while they have at most 29 attributes; uvicorn's has 37 (with the scope, the request and the
    # response): 1.6 KB a connection, against 0.3 KB for the same values with shared keys.
    config = _shared("served.config")
    app = _shared("served.app")
    loop = _shared("served.loop")
    logger = _shared("served.logger")
    app_state = _shared("served.app_state")
    root_path = _shared("served.config.root_path")
    asgi_version = _shared("served.config.asgi_version")
    connections = _shared("served.server_state.connections")
    tasks = _shared("served.server_state.tasks")
    default_headers = _shared("served.server_state.default_headers")
    ping_interval = _shared("served.config.ws_ping_interval")
    ping_timeout = _shared("served.config.ws_ping_timeout")
    close_timeout = 10.0

    _last: ClassVar[Served | None] = None  # the last connection's server's, for the next connection

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()  # pragma: no cover
        loop = _loop or asyncio.get_event_loop()
        last = LeanWebSocketProtocol._last
        served = (last or Served(config, server_state, app_state, loop)).of(config, server_state, app_state, loop)
        LeanWebSocketProtocol._last = self.served = served

        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme: Literal["wss", "ws"] = None  # type: ignore[assignment]

        self.queue = Inbox()  # type: ignore[assignment]
        self.handshake_initiated = False
        self.handshake_complete = False
        self.close_sent = False
        self.disconnected = False
        self.close_timer: asyncio.TimerHandle | None = None
        self.initial_response: tuple[int, list[tuple[str, str]], bytes] | None = None

        extensions = []
        if config.ws_per_message_deflate:
            extensions = [
                ServerPerMessageDeflateFactory(
                    server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
                )
            ]
        self.conn = ServerProtocol(extensions=extensions, max_size=config.ws_max_size, logger=served.logger)

        self.read_paused = False
        self.writable = Writable()  # type: ignore[assignment]

        self.ping_timer: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None
        self.pending_ping_payload: bytes | None = None
        self.ping_sent_at: float = 0.0
        self.last_ping_rtt: float = 0.0

        self.frames: list[bytes] = []
        self.curr_msg_data_type: Literal["text", "bytes"] = "bytes"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.server == self.served.server:  # the server's own address: one tuple for all its connections
            self.server = self.served.server
        else:
            self.served.server = self.server

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope holds the headers as the app sees them; the parsed request (also kept by the websockets
        # parser's frame for the connection's life) is not read again.
        event.headers.clear()
        if not self.handshake_complete:  # accepted: the same values for every connection, one copy of each
            self.scope["asgi"] = self.served.asgi  # type: ignore[typeddict-item]
            self.scope["extensions"] = self.served.extensions

    async def receive(self) -> ASGIReceiveEvent:
        # uvicorn's, with the inbox's wait inline: one coroutine frame less under every idle connection's read.
        inbox: Inbox = self.queue  # type: ignore[assignment]
        while inbox.empty():
            await inbox.arrival()
        message = inbox.take()
        if self.read_paused and inbox.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return message

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

    def writes_now(self) -> bool:
        """Whether `write_now` would write: the connection is plain (see `_plain`) and its transport takes bytes."""
        return self.writable.is_set() and not self.disconnected and self._plain()

    def write_now(self, texts: Sequence[str]) -> None:
        """Send these texts, one frame each, as `send` would once `writes_now()` says so, in one write and
        without an ASGI event or a coroutine: what a fan-out does for each of a room's sockets."""
        if len(texts) == 1:
            self.transport.write(FRAMED.of(texts[0]))
        else:
            self.transport.write(b"".join(FRAMED.of(text) for text in texts))

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

    def schedule_ping(self) -> None:
        # uvicorn's delay, on the server's shared ping times instead of a timer of the connection's own
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.served.pings.later(delay, self)  # type: ignore[assignment]

    def start_keepalive(self) -> None:
        super().start_keepalive()  # called once, when the handshake's response has been sent
        self.response = None  # type: ignore[assignment]  # read again only before the handshake completes
