"""The server's HTTP/1.1 protocol: uvicorn's httptools protocol, with bounds on every request head.

uvicorn reads a request head for as long as the client takes, of any size and any number of headers,
so one connection that trickles its head, or sends 16 MiB of it, is held forever with its memory.
This one answers 431 to a head over `MAX_HEAD_BYTES` or `MAX_HEADERS`, and closes a connection whose
head is not complete `HEAD_TIMEOUT_SECONDS` after it opened or after its previous response.
Keep-alive, pipelining and WebSocket upgrades are uvicorn's own. The Procfile selects it with
`--http chatroom.web.http_protocol:BoundedHeadProtocol`; the `chatroom` script passes the class.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from chatroom.web.security_headers import SECURITY_HEADERS

log = logging.getLogger(__name__)

# Measured, Chromium 156 with a session cookie: 0.85 KiB and 15 headers for a room page, 1 KiB and 22 for an
# htmx post. The rest is room for cookies a parent domain may set (4 KiB each). Other servers stop in this range:
# nginx at 32 KiB, Node at 16 KiB, Apache at 100 headers.
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
# A head comes in one packet or a few; 10 s is long for a slow phone and short for a slowloris.
HEAD_TIMEOUT_SECONDS = 10.0
# After a 431, what the client still sends is read and dropped for this long before the close, so that its
# bytes in flight do not turn the close into a reset that loses the answer.
LINGER_SECONDS = 2.0


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head over the limits."""


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.awaiting_head = True  # between the end of a request (or the connection's start) and its next head
        self.head_bytes_received = 0  # raw bytes while awaiting a head, before the parser has seen them
        self.head_bytes = 0  # of the head being parsed: its URL and headers
        self.header_count = 0
        self.refused = False
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, but a head over the limits gets 431 where uvicorn would answer 400.
        if self.refused:
            return
        self._unset_keepalive_if_required()
        if self.awaiting_head:
            self.head_bytes_received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadTooLarge):
                self.refuse(431, "head_too_large")
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
        else:
            # The parser holds an unfinished header's bytes without calling back: count them here.
            if self.awaiting_head and self.head_bytes_received > MAX_HEAD_BYTES:
                self.refuse(431, "head_too_large")

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The connection is the WebSocket protocol's from here on. The parser calls back this protocol's bound
        # methods, a cycle only the garbage collector would free (15 objects an upgrade): broken here instead.
        self.cancel_head_timer()
        del self.parser

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.header_count = 0

    def on_url(self, url: bytes) -> None:
        self.head_bytes += len(url)
        if self.head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        self.header_count += 1
        if self.head_bytes > MAX_HEAD_BYTES or self.header_count > MAX_HEADERS:
            raise HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        self.head_bytes_received = 0
        self.cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.awaiting_head = True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Armed only when no request is in flight: a long response (an SSE stream) is no slow head.
        if not self.transport.is_closing() and self.cycle.response_complete and self.head_timer is None:
            self.head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self.head_timed_out)

    def cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.head_bytes_received:
            self.refuse(408, "head_timeout")
        else:  # an unused connection, as browsers open ahead of need: not worth a log line
            self.transport.close()

    def refuse(self, status: int, reason: str) -> None:
        """Answer `status` and close, without parsing another byte from this connection."""
        client = self.client
        log.info("refused transport=http peer=%s reason=%s", f"{client[0]}:{client[1]}" if client else "?", reason)
        self.refused = True
        self.cancel_head_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a response is on the wire: an answer now would corrupt it
            return
        body = HTTPStatus(status).phrase.encode()
        lines = [STATUS_LINE[status]]
        headers = [
            *self.server_state.default_headers,
            *((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        lines += [name + b": " + value + b"\r\n" for name, value in headers]
        self.transport.write(b"".join([*lines, b"\r\n", body]))
        if status == 431 and self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self.head_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
