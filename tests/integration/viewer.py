"""A browser's view of a room, over the htmx WebSocket of real servers, kept the way htmx keeps it.

The snapshot frame replaces the list, append frames add to it, and a closed socket reconnects
(to the next server, when several are given) the way hx-ws does. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import json
import os
import re
import socket
import time
from collections import deque
from collections.abc import Callable

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

# A message's item: its id, whether it replaces the one shown (a change), and its text (or its tombstone's).
ITEM = re.compile(
    r'<li id="msg-(\d+)"([^>]*)>(?:(?!</li>).)*?(?:<p class="text[^"]*"[^>]*>|<div class="text"[^>]*><p>)(.*?)</p>',
    re.DOTALL,
)
SNAPSHOT = 'id="messages"'
ACCEPTED = 'id="msg-input"'
ERRORS = re.compile(r'<div id="errors"[^>]*>(.*?)</div>', re.DOTALL)


class Refused(Exception):
    """The server answered a send with an error in #errors."""


class Viewer:
    def __init__(self, ws_urls: list[str], room: str, reconnect: bool = True, max_queue: int | None = 64) -> None:
        self.ws_urls = list(ws_urls)
        self.room = room
        self.reconnect = reconnect
        self.max_queue = max_queue
        self.shown: list[tuple[int, str]] = []  # (seq, text), in the order the page shows them
        self.connects = 0
        self.close_codes: list[int | None] = []
        self.server = 0  # index into ws_urls of the current connection
        self._ws: websockets.ClientConnection | None = None
        self._replies: deque[asyncio.Future[None]] = deque()
        self._connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self, server: int = 0, timeout: float = 10.0) -> Viewer:
        self.server = server
        self._task = asyncio.create_task(self._run())
        await self.until(lambda: self._connected.is_set(), timeout)
        return self

    async def close(self) -> None:
        self.reconnect = False
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def send(self, text: str, timeout: float = 10.0) -> None:
        """Send a message and wait for the server's answer: accepted, or Refused with the reason."""
        if self._ws is None:
            raise ConnectionError("not connected")
        reply = asyncio.get_running_loop().create_future()
        self._replies.append(reply)
        await self._ws.send(json.dumps({"message": text, "headers": {"HX-Request": "true"}}))
        await asyncio.wait_for(reply, timeout)

    def seqs(self) -> list[int]:
        return [seq for seq, _ in self.shown]

    def texts(self) -> list[str]:
        return [text for _, text in self.shown]

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"condition not met in {timeout} s; shows {self.texts()[-5:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    async def shows(self, texts: list[str], timeout: float = 10.0) -> None:
        """Wait until the page ends with exactly these messages, in this order."""
        await self.until(lambda: self.texts()[-len(texts) :] == texts, timeout)

    async def _run(self) -> None:
        while True:
            url = f"{self.ws_urls[self.server]}/rooms/{self.room}/ws"
            try:
                async with websockets.connect(url, max_queue=self.max_queue, open_timeout=5) as ws:
                    self._ws = ws
                    self.connects += 1
                    self._connected.set()
                    async for frame in ws:
                        self._apply(str(frame))
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError):
                pass
            else:
                self.close_codes.append(ws.close_code)
            finally:
                self._ws = None
                self._connected.clear()
                while self._replies:
                    self._replies.popleft().cancel()
                self._changed.set()
            if not self.reconnect:
                return
            self.server = (self.server + 1) % len(self.ws_urls)  # the next process, as a load balancer would
            await asyncio.sleep(0.2)

    def _apply(self, frame: str) -> None:
        """What htmx does with the frame: a snapshot replaces the list, a new item is appended, a changed one
        replaces the item with its id where there is one."""
        found = [
            (int(seq), "hx-swap-oob" in attributes, html.unescape(text))
            for seq, attributes, text in ITEM.findall(frame)
        ]
        if SNAPSHOT in frame:
            self.shown = [(seq, text) for seq, _, text in found]
            return self._answered(frame)
        for seq, changed, text in found:
            if not changed:
                self.shown.append((seq, text))
            else:
                self.shown = [(s, text if s == seq else t) for s, t in self.shown]
        self._answered(frame)

    def _answered(self, frame: str) -> None:
        # A refusal puts the text back in the box, so it carries the box too: the reason decides.
        if (error := ERRORS.search(frame)) and error.group(1).strip() and self._replies:
            self._replies.popleft().set_exception(Refused(re.sub(r"<[^>]+>", "", error.group(1)).strip()))
        elif ACCEPTED in frame and self._replies:
            self._replies.popleft().set_result(None)
        self._changed.set()


def in_order_without_gaps(viewer: Viewer) -> bool:
    seqs = viewer.seqs()
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True


class StalledReader:
    """A raw WebSocket client that completes the handshake, then reads nothing until asked to."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server feels it soon
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += self.sock.recv(1)  # byte by byte, so nothing after the headers is consumed
        assert head.startswith(b"HTTP/1.1 101"), head

    def close_code(self, timeout: float = 10.0) -> int | None:
        """Read everything that was sent, and return the code of the close frame at its end (None: no close)."""
        self.sock.settimeout(timeout)
        data = bytearray()
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(1 << 20):
                data += chunk
        self.sock.close()
        at = 0
        while at + 2 <= len(data):
            opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
            at += 2
            if length == 126:
                length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
            elif length == 127:
                length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
            if opcode == 0x8:
                return int.from_bytes(data[at : at + 2], "big") if length >= 2 else None
            at += length
        return None
