"""The WebSocket protocol: its small parts act as the asyncio ones they replace, and the whole keeps uvicorn's state."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from chatroom.web.http_protocol import BoundedHeadProtocol
from chatroom.web.ws_protocol import (
    Due,
    Inbox,
    LeanWebSocketProtocol,
    PingTimes,
    SharedFrame,
    Writable,
    lean_protocol,
)


def test_the_inbox_gives_events_in_order_and_wakes_its_reader() -> None:
    async def run() -> None:
        inbox = Inbox()
        inbox.put_nowait({"type": "websocket.connect"})
        assert not inbox.empty() and inbox.qsize() == 1
        assert await inbox.get() == {"type": "websocket.connect"}
        assert inbox.empty()
        reading = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        assert not reading.done()
        inbox.put_nowait({"type": "websocket.receive", "text": "a"})
        inbox.put_nowait({"type": "websocket.receive", "text": "b"})
        assert await asyncio.wait_for(reading, 1) == {"type": "websocket.receive", "text": "a"}
        assert await inbox.get() == {"type": "websocket.receive", "text": "b"}

    asyncio.run(run())


def test_a_cancelled_read_loses_no_event() -> None:
    async def run() -> None:
        inbox = Inbox()
        reading = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        inbox.put_nowait({"type": "websocket.disconnect", "code": 1001})
        assert await asyncio.wait_for(inbox.get(), 1) == {"type": "websocket.disconnect", "code": 1001}

    asyncio.run(run())


def test_a_second_reader_at_once_is_an_error_not_a_hang() -> None:
    async def run() -> None:
        inbox = Inbox()
        first = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            await inbox.get()
        first.cancel()

    asyncio.run(run())


def test_writable_waits_while_cleared_and_wakes_every_waiter_when_set() -> None:
    async def run() -> None:
        writable = Writable()
        assert writable.is_set() and await writable.wait()
        writable.clear()
        waiting = [asyncio.ensure_future(writable.wait()) for _ in range(2)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiting)
        writable.set()
        assert await asyncio.wait_for(asyncio.gather(*waiting), 1) == [True, True]

    asyncio.run(run())


def test_a_cancelled_wait_leaves_no_waiter_behind() -> None:
    async def run() -> None:
        writable = Writable()
        writable.clear()
        waiting = asyncio.ensure_future(writable.wait())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not writable._waiters
        writable.set()

    asyncio.run(run())


@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536])  # each length field's size
def test_a_shared_frame_is_the_bytes_websockets_would_send_on_an_uncompressed_connection(length: int) -> None:
    text = ("é" * length)[:length]
    server = ServerProtocol()
    server.state = OPEN
    server.send_text(text.encode())
    assert SharedFrame().of(text) == b"".join(server.data_to_send())


def test_a_text_sent_to_many_connections_is_framed_once() -> None:
    shared = SharedFrame()
    text = "<div>hello</div>" * 10
    first = shared.of(text)
    assert shared.of(text) is first  # the same object: framed once for the whole fan-out
    other = shared.of("<div>bye</div>")
    assert other != first and shared.of(text) is first, "a backlog of two texts, sent to each connection in turn"
    for n in range(SharedFrame.kept):
        shared.of(f"<div>{n}</div>")
    assert shared.of(text) == first and len(shared._frames) <= SharedFrame.kept, "a few kept, not every text"


class Wire(asyncio.Transport):
    """The server's side of a socket, in memory: what the protocol writes, and whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("203.0.113.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def handshake(lean: LeanWebSocketProtocol, url: str) -> tuple[Wire, ClientProtocol, list[object]]:
    """A client's opening handshake with `lean` over a recording transport: the transport, the client and what
    the client received (the response)."""
    wire = Wire()
    lean.connection_made(wire)
    client = ClientProtocol(parse_uri(url))
    client.send_request(client.connect())
    lean.data_received(b"".join(client.data_to_send()))
    for _ in range(10):
        await asyncio.sleep(0)
    client.receive_data(bytes(wire.written))
    return wire, client, list(client.events_received())


def test_the_lean_protocol_has_each_of_uvicorns_attributes_with_a_shared_key_dict_and_speaks_websocket() -> None:
    received: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            received.append(message["text"])
            await send({"type": "websocket.send", "text": message["text"].upper()})
        received.append(message)

    async def run() -> None:
        config = Config(app, ws_per_message_deflate=False, ws_max_size=65536)
        config.load()
        state, app_state = ServerState(), dict[str, Any]()
        lean = LeanWebSocketProtocol(config, state, app_state)
        assert LeanWebSocketProtocol(config, state, app_state).served is lean.served, "one per server"
        theirs = WebSocketsSansIOProtocol(config, state, app_state)
        for name, value in vars(theirs).items():  # a uvicorn that keeps something new fails here, not in production
            if name not in ("queue", "writable", "conn", "logger"):
                assert getattr(lean, name) == value, name

        wire, client, (response,) = await handshake(lean, "ws://127.0.0.1:8000/rooms/lobby/ws")
        assert client.state is OPEN and isinstance(response, Response) and response.status_code == 101
        # Keys shared with the class's other objects only up to 29 attributes; past them, a dict of its own (1.6 KB).
        assert len(vars(lean)) <= 29, sorted(vars(lean))
        assert lean.scope["headers"] and lean.scope["client"] == ("203.0.113.1", 50000)
        wire.written.clear()
        client.send_text(b"hello")
        lean.data_received(b"".join(client.data_to_send()))
        for _ in range(10):
            await asyncio.sleep(0)
        client.receive_data(bytes(wire.written))
        (frame,) = client.events_received()
        assert isinstance(frame, Frame) and frame.data == b"HELLO" and received == ["hello"]
        lean.connection_lost(None)
        for _ in range(10):
            await asyncio.sleep(0)
        assert received[-1]["type"] == "websocket.disconnect"

    asyncio.run(run())


def test_an_app_writes_texts_straight_to_a_plain_open_connection_and_only_then() -> None:
    sends: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        sends.append(send)
        while (await receive())["type"] == "websocket.receive":
            pass

    async def run() -> None:
        config = Config(app, ws_per_message_deflate=False, ws_max_size=65536)
        config.load()
        lean = LeanWebSocketProtocol(config, ServerState(), {})
        assert lean_protocol(lean.send) is lean and lean_protocol(app) is None, "under another server: ASGI's send"
        assert not lean.writes_now(), "not before the handshake"
        wire, client, _ = await handshake(lean, "ws://127.0.0.1:8000/rooms/lobby/ws")
        assert lean_protocol(sends[0]) is lean and lean.writes_now()
        wire.written.clear()
        lean.write_now(["<p>one</p>", "<p>two</p>"])
        lean.write_now(["<p>three</p>"])
        client.receive_data(bytes(wire.written))
        frames = client.events_received()
        assert [frame.data for frame in frames if isinstance(frame, Frame)] == [
            b"<p>one</p>",
            b"<p>two</p>",
            b"<p>three</p>",
        ]
        assert len(frames) == 3
        lean.pause_writing()
        assert not lean.writes_now(), "a full transport: the write waits, in a coroutine"
        lean.resume_writing()
        assert lean.writes_now()
        await lean.send({"type": "websocket.close", "code": 1000})
        assert not lean.writes_now(), "closing: uvicorn's own path says what may still be sent"
        lean.connection_lost(None)
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(run())


def test_the_http_protocol_that_upgraded_a_connection_is_freed_at_once() -> None:
    """The head's parser calls back the HTTP protocol, which holds the parser: once the connection is a WebSocket's,
    that cycle is broken, so an upgrade leaves nothing for the garbage collector (15 objects each, measured)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (await receive())["type"] == "websocket.receive":
            pass

    async def run() -> list[str]:
        config = Config(app, ws=LeanWebSocketProtocol, ws_per_message_deflate=False)
        config.load()
        http = BoundedHeadProtocol(config, ServerState(), {})
        wire = Wire()
        http.connection_made(wire)
        client = ClientProtocol(parse_uri("ws://127.0.0.1:8000/rooms/lobby/ws"))
        client.send_request(client.connect())
        http.data_received(b"".join(client.data_to_send()))
        for _ in range(10):
            await asyncio.sleep(0)
        assert b" 101 " in bytes(wire.written).split(b"\r\n")[0], "upgraded"
        assert isinstance(wire.protocol, LeanWebSocketProtocol)
        del http
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            return [type(o).__name__ for o in gc.garbage if isinstance(o, BoundedHeadProtocol)]
        finally:
            gc.garbage.clear()
            gc.set_debug(0)
            wire.protocol.connection_lost(None)
            for _ in range(10):
                await asyncio.sleep(0)

    assert asyncio.run(run()) == []


def test_a_socket_opening_and_closing_is_the_chats_to_log_and_its_errors_are_still_the_servers() -> None:
    """uvicorn and websockets log three lines at INFO for every socket; the chat logs its own, with context."""
    records: list[logging.LogRecord] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        raise RuntimeError("the app failed")

    async def run() -> None:
        lean = LeanWebSocketProtocol(config, ServerState(), {})
        client = (await handshake(lean, "ws://127.0.0.1:8000/rooms/lobby/ws"))[1]
        assert client.state is OPEN
        lean.connection_lost(None)
        for _ in range(10):
            await asyncio.sleep(0)

    config = Config(app, ws_per_message_deflate=False)  # configures uvicorn's logging, at INFO
    config.load()

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    server = logging.getLogger("uvicorn.error")
    handler = Kept()
    server.addHandler(handler)
    try:
        asyncio.run(run())
    finally:
        server.removeHandler(handler)
    assert [(r.levelname, r.getMessage()) for r in records] == [("ERROR", "Exception in ASGI application\n")]


class Pinged:
    def __init__(self) -> None:
        self.pings = 0

    def send_keepalive_ping(self) -> None:
        self.pings += 1


class Timer:
    def __init__(self, when: float, callback: Any) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """The loop's time and timers, as much as `PingTimes` uses, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any) -> Timer:
        self.timers.append(Timer(when, callback))
        return self.timers[-1]

    def advance(self, to: float) -> None:
        self.now = to
        while due := [t for t in self.timers if not t.cancelled and t.when <= to]:
            self.timers.remove(due[0])
            due[0].callback()


def test_ping_times_ping_each_connection_once_when_due_and_not_once_cancelled() -> None:
    clock = Clock()
    times = PingTimes(clock)  # type: ignore[arg-type]
    soon, later, cancelled = Pinged(), Pinged(), Pinged()
    times.later(20.0, soon)
    times.later(25.5, later)
    times.later(20.0, cancelled).cancel()
    clock.advance(19.9)
    assert (soon.pings, later.pings, cancelled.pings) == (0, 0, 0)
    clock.advance(20.0)
    assert (soon.pings, later.pings, cancelled.pings) == (1, 0, 0)
    times.later(1.2, soon)  # due before `later`: the one timer is moved to it
    clock.advance(21.5)
    assert (soon.pings, later.pings) == (1, 0)
    clock.advance(22.0)  # to the second: 21.2 is due at 22
    assert (soon.pings, later.pings) == (2, 0)
    clock.advance(25.9)
    assert (soon.pings, later.pings) == (2, 0)
    clock.advance(26.0)
    assert (soon.pings, later.pings, cancelled.pings) == (2, 1, 0)
    assert not times._due and times._timer is None, "nothing kept once all are sent"
    assert not [t for t in clock.timers if not t.cancelled]


def test_a_connection_is_pinged_on_the_shared_ping_times_and_its_pong_schedules_the_next() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()

    async def run() -> None:
        config = Config(app, ws_per_message_deflate=False, ws_ping_interval=0.02, ws_ping_timeout=1.0)
        config.load()
        lean = LeanWebSocketProtocol(config, ServerState(), {})
        lean.served.pings.tick = 0.01
        wire, client, _ = await handshake(lean, "ws://127.0.0.1:8000/")
        assert isinstance(lean.ping_timer, Due)
        for _ in range(2):  # a ping, its pong, and the next ping
            wire.written.clear()
            await asyncio.sleep(0.06)
            client.receive_data(bytes(wire.written))
            (ping,) = client.events_received()
            assert isinstance(ping, Frame) and ping.opcode is Opcode.PING
            lean.data_received(b"".join(client.data_to_send()))  # the client's pong
            assert lean.pong_timer is None and isinstance(lean.ping_timer, Due)
        lean.connection_lost(None)
        assert lean.ping_timer is None

    asyncio.run(run())
