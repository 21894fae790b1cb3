"""The load generator: thousands of WebSocket clients in one asyncio (uvloop) process.

Built on picows (a Cython WebSocket client whose frame callback runs straight from the event
loop) with permessage-deflate done here, offered exactly as Chromium offers it. Every message
text carries `~<id>.<send_ns>~`, which JSON and HTML escaping both leave alone, so a delivery
is found with one regex over the raw frame, whatever the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import random
import re
import time
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
import picows
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

TOKEN = re.compile(rb"~(\d+)\.(\d+)~")
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"  # Chromium's offer, verbatim
DEFLATE_TAIL = b"\x00\x00\xff\xff"
SNAPSHOT_MARK = b'id="messages"'
WELCOME_MARK = b"connection_established"
TEXT = WSMsgType.TEXT
find_tokens = TOKEN.findall
HTMX_HEADERS = {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Source": "form#send-form"}
now_ns = time.monotonic_ns
USE_AIOFASTNET: bool | None = None  # picows's default: aiofastnet's transports when installed


class Deflate:
    """permessage-deflate (RFC 7692) state of one connection, as the server answered it."""

    __slots__ = ("client_bits", "client_reset", "decoder", "encoder", "server_bits", "server_reset")

    def __init__(self, params: dict[str, str | None]) -> None:
        self.server_reset = "server_no_context_takeover" in params
        self.client_reset = "client_no_context_takeover" in params
        self.server_bits = -int(params.get("server_max_window_bits") or 15)
        self.client_bits = -int(params.get("client_max_window_bits") or 15)
        self.decoder = zlib.decompressobj(wbits=self.server_bits)
        self.encoder = zlib.compressobj(wbits=self.client_bits)

    @classmethod
    def negotiated(cls, header: str | None) -> Deflate | None:
        if not header:
            return None
        name, *raw = (part.strip() for part in header.split(",", 1)[0].split(";"))
        if name != "permessage-deflate":
            return None
        params: dict[str, str | None] = {}
        for item in filter(None, raw):
            key, _, value = item.partition("=")
            params[key.strip()] = value.strip().strip('"') or None
        return cls(params)

    def decompress(self, data: bytes) -> bytes:
        # One decoder serves even with server_no_context_takeover: a message made by a fresh
        # compressor never refers back to older bytes, and each ends on a block boundary.
        out = self.decoder.decompress(data + DEFLATE_TAIL)
        if self.decoder.eof:  # the sender closed its stream (BFINAL): the next message starts a new one
            self.decoder = zlib.decompressobj(wbits=self.server_bits)
        return out

    def compress(self, data: bytes) -> bytes:
        if self.client_reset:
            self.encoder = zlib.compressobj(wbits=self.client_bits)
        out = self.encoder.compress(data) + self.encoder.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out.endswith(DEFLATE_TAIL) else out


class Tally:
    """Deliveries of one send phase: per-message counts and every delivery's latency."""

    def __init__(self, base: int, receivers: int) -> None:
        self.base = base
        self.receivers = receivers
        self.sent_ns = array("q")
        self.counts = array("l")
        self.latencies = array("q")
        self.delivered = 0
        self.send_failed = 0
        self.last_delivery_ns = 0
        self.window_s = 0.0  # how long sending took

    def record(self, found: list[tuple[bytes, bytes]], at: int) -> None:
        counts, base = self.counts, self.base
        for mid, sent in found:
            i = int(mid) - base
            if 0 <= i < len(counts):
                counts[i] += 1
                self.latencies.append(at - int(sent))
                self.delivered += 1
        self.last_delivery_ns = at

    def summary(self) -> dict[str, Any]:
        sent = len(self.sent_ns)
        counts = np.frombuffer(self.counts, dtype=np.int64) if sent else np.zeros(0, np.int64)
        expected = sent * self.receivers
        unique = int(np.minimum(counts, self.receivers).sum())
        lat = np.frombuffer(self.latencies, dtype=np.int64) / 1e6 if self.latencies else np.full(1, np.nan)
        span = (self.last_delivery_ns - self.sent_ns[0]) / 1e9 if sent and self.delivered else 0.0
        span = max(span, self.window_s)
        return {
            "sent": sent,
            "send_failed": self.send_failed,
            "expected": expected,
            "delivered": unique,
            "lost": expected - unique,
            "duplicates": int(np.maximum(counts - self.receivers, 0).sum()),
            "deliveries_per_s": unique / span if span > 0 else 0.0,
            "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)),
            "max_ms": float(lat.max()),
        }


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

    def _listener(self, request: Any, response: Any) -> Connection:
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
                use_aiofastnet=USE_AIOFASTNET,
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


class Generator:
    """Owns the users of a scenario and the running send phase's tally."""

    def __init__(self) -> None:
        self.tally: Tally | None = None
        self.next_id = 0
        self.stopping = False
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def users(self, endpoint: Endpoint, n: int, first: int = 0) -> list[User]:
        return [User(self, first + i, endpoint) for i in range(n)]

    async def connect(self, users: list[User], concurrency: int | None = 200, timeout: float = 30.0) -> float:
        """Connect users (all at once when concurrency is None) and wait for their first frame.

        Gives up after `timeout` seconds in all; who is ready by then shows in `ready_ns`.
        """
        start = time.monotonic()
        gate = asyncio.Semaphore(concurrency or len(users) or 1)

        async def one(user: User) -> None:
            async with gate:
                await user.connect(min(timeout, 15.0))

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(one(u) for u in users)), timeout)
        await self.wait_ready(users, timeout - (time.monotonic() - start))
        return time.monotonic() - start

    async def wait_ready(self, users: list[User], timeout: float, after_ns: int = 0) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        while time.monotonic() < deadline:
            if all(u.ready_ns > after_ns for u in users):
                return True
            await asyncio.sleep(0.02)
        return all(u.ready_ns > after_ns for u in users)

    async def close(self, users: list[User], timeout: float = 5.0) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()
        transports = [u.conn.transport for u in users if u.conn is not None and u.conn.transport]
        for user in users:
            user.close()
        if transports:
            waits = [t.wait_disconnected() for t in transports]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), timeout)
        self.stopping = False

    async def send_phase(
        self, senders: list[User], receivers: int, rate: float, duration: float, drain: float, pad: str
    ) -> Tally:
        """Send `rate` messages/s round-robin from senders for `duration`, then wait for deliveries."""
        tally = self.tally = Tally(self.next_id, receivers)
        gc.collect()
        gc.freeze()  # nothing made in the hot path is cyclic; spare it the collector's scans
        gc.disable()
        try:
            await self._send(tally, senders, receivers, rate, duration, drain, pad)
        finally:
            gc.enable()
            gc.unfreeze()
            self.tally = None
        return tally

    async def _send(
        self, tally: Tally, senders: list[User], receivers: int, rate: float, duration: float, drain: float, pad: str
    ) -> None:
        total = max(1, int(rate * duration))
        start = time.monotonic()
        k = 0
        while k < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            while k < due:
                mid = self.next_id
                self.next_id += 1
                sent = now_ns()
                tally.sent_ns.append(sent)
                tally.counts.append(0)
                if not senders[k % len(senders)].send(f"hello ~{mid}.{sent}~ {pad}"):
                    tally.send_failed += 1
                k += 1
            await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        tally.window_s = total / rate
        deadline = time.monotonic() + drain
        expected = len(tally.sent_ns) * receivers
        while time.monotonic() < deadline and tally.delivered < expected:
            await asyncio.sleep(0.02)
