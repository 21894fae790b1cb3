"""One simulated person: a WebSocket client that speaks the seed's JSON or the htmx protocol.

The frame callback (`Connection.on_ws_frame` into `User.on_message`) is the generator's hot
path: it runs straight from the event loop for every frame of every client.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import picows
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from bench.deflate import DEFLATE_OFFER, Deflate
from bench.tally import find_tokens

if TYPE_CHECKING:
    from bench.loadgen import Generator

SNAPSHOT_MARK = b'id="messages"'
WELCOME_MARK = b"connection_established"
TEXT = WSMsgType.TEXT
HTMX_HEADERS = {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Source": "form#send-form"}
now_ns = time.monotonic_ns


class Connection(WSListener):
    """One WebSocket connection of a user; its frame callback is the generator's hot path."""

    __slots__ = ("compressed", "deflate", "parts", "transport", "user")

    def __init__(self, user: User, deflate: Deflate | None) -> None:
        self.user = user
        self.deflate = deflate
        self.transport: WSTransport | None = None
        self.parts: list[bytes] | None = None
        self.compressed = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.user.conn = self

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is TEXT and frame.fin:  # nearly every frame: keep this path short
            data = frame.get_payload_as_bytes()
            if frame.rsv1:
                data = self.deflate.decompress(data)  # type: ignore[union-attr]
            self.user.on_message(data)
        else:
            self.on_other_frame(transport, frame)

    def on_other_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT or kind == WSMsgType.BINARY:
            if frame.fin:
                data = frame.get_payload_as_bytes()
                if frame.rsv1:
                    data = self.deflate.decompress(data)  # type: ignore[union-attr]
                self.user.on_message(data)
            else:
                self.parts, self.compressed = [frame.get_payload_as_bytes()], frame.rsv1
        elif kind == WSMsgType.CONTINUATION and self.parts is not None:
            self.parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data = b"".join(self.parts)
                self.parts = None
                if self.compressed:
                    data = self.deflate.decompress(data)  # type: ignore[union-attr]
                self.user.on_message(data)
        elif kind == WSMsgType.CLOSE:
            self.user.close_codes.append(int(frame.get_close_code().value))
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.user.on_closed(self)

    def send(self, payload: bytes) -> None:
        assert self.transport is not None
        if self.deflate is not None:
            self.transport.send(WSMsgType.TEXT, self.deflate.compress(payload), rsv1=True)
        else:
            self.transport.send(WSMsgType.TEXT, payload)


@dataclass(frozen=True)
class Endpoint:
    """Where a user connects and which protocol it speaks there: "json" (seed) or "htmx"."""

    host: str
    port: int
    path: str
    protocol: str
    origin: bool = False
    deflate: bool = True

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.path}"

    def encode(self, text: str) -> bytes:
        if self.protocol == "htmx":
            return json.dumps({"message": text, "headers": HTMX_HEADERS}).encode()
        return json.dumps({"message": text}).encode()


class User:
    """A person in a room: one connection at a time, reconnecting the way htmx 4's hx-ws does."""

    __slots__ = (
        "attempt_ns", "close_codes", "conn", "connections", "endpoint", "errors", "failures", "first_ready_ns",
        "frames", "gen", "headers", "htmx", "mark", "other_frames", "ready_ns", "reconnect", "source",
    )  # fmt: skip

    def __init__(self, gen: Generator, idx: int, endpoint: Endpoint) -> None:
        self.gen = gen
        self.endpoint = endpoint
        self.htmx = endpoint.protocol == "htmx"
        self.mark = SNAPSHOT_MARK if self.htmx else WELCOME_MARK
        self.source = f"127.0.0.{2 + idx % 250}"  # spread over 127/8 so ephemeral ports never run out
        self.headers: list[tuple[str, str]] = []
        if endpoint.deflate:
            self.headers.append(("Sec-WebSocket-Extensions", DEFLATE_OFFER))
        if endpoint.origin:
            self.headers.append(("Origin", f"http://{endpoint.host}:{endpoint.port}"))
        self.conn: Connection | None = None
        self.reconnect = False
        self.connections = 0
        self.attempt_ns = 0
        self.ready_ns = 0  # first snapshot / connection_established of the current connection
        self.first_ready_ns = 0
        self.frames = 0
        self.other_frames = 0
        self.errors = 0
        self.close_codes: list[int] = []
        self.failures: list[str] = []

    def _listener(self, request: picows.WSUpgradeRequest, response: picows.WSUpgradeResponse) -> Connection:
        self.ready_ns = 0
        self.connections += 1
        return Connection(self, Deflate.negotiated(response.headers.get("Sec-WebSocket-Extensions")))

    async def connect(self, timeout: float = 10.0) -> bool:
        self.attempt_ns = now_ns()
        try:
            await picows.ws_connect(
                self._listener,
                self.endpoint.url,
                extra_headers=self.headers,
                websocket_handshake_timeout=timeout,
                enable_auto_pong=True,
                local_addr=(self.source, 0),
            )
            return True
        except Exception as exc:  # refused, reset, timed out, bad status: all count as a failure
            self.failures.append(type(exc).__name__)
            return False
        except asyncio.CancelledError:
            self.failures.append("GaveUp")  # the scenario's own deadline passed mid-handshake
            raise

    def on_message(self, data: bytes) -> None:
        at = now_ns()
        self.frames += 1
        if not self.ready_ns:
            if self.mark in data:
                self.ready_ns = at
                if not self.first_ready_ns:
                    self.first_ready_ns = at
            else:
                self.other_frames += 1
            return
        tally = self.gen.tally
        if tally is None:  # between send phases (e.g. presence frames while a room fills): no scan
            self.other_frames += 1
            return
        found = find_tokens(data)
        if found:
            if not self.htmx or SNAPSHOT_MARK not in data:
                if len(found) == 1:  # inline Tally.record for the common case
                    i = int(found[0][0]) - tally.base
                    if 0 <= i < len(tally.counts):
                        tally.counts[i] += 1
                        tally.latencies.append(at - int(found[0][1]))
                        tally.delivered += 1
                        tally.last_delivery_ns = at
                else:
                    tally.record(list(set(found)), at)
        elif b'"error"' in data:
            self.errors += 1
        else:
            self.other_frames += 1

    def on_closed(self, conn: Connection) -> None:
        if self.conn is conn:
            self.conn = None
        if self.reconnect and not self.gen.stopping:
            self.gen.spawn(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while self.reconnect and not self.gen.stopping:
            attempt += 1
            delay = min(0.5 * 2 ** (attempt - 1), 60.0)
            await asyncio.sleep(max(0.0, delay + (random.random() * 2 - 1) * 0.3 * delay))
            if await self.connect():
                return

    def send(self, text: str) -> bool:
        if self.conn is None or self.conn.transport is None:
            return False
        self.conn.send(self.endpoint.encode(text))
        return True

    def close(self) -> None:
        self.reconnect = False
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.send_close(WSCloseCode.GOING_AWAY)
            self.conn.transport.disconnect()
