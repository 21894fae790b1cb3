"""The WebSocket protocol's small parts: the inbox and the "writable" flag act as the asyncio ones they replace."""

from __future__ import annotations

import asyncio

import pytest
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from chatroom.web.ws_protocol import Inbox, SharedFrame, Writable


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
    assert other != first and shared.of(text) == first
