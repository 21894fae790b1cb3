"""What the two WebSocket protocols share: the handshake checks, the reader, the outbox that writes, the limits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from chatroom.identity import from_session, guest, session_of
from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.hub import FeedUnavailable, Hub, not_stored
from chatroom.rooms.outbox import Frame, SocketOutbox
from chatroom.store import StoreUnavailable
from chatroom.validation import Refused
from chatroom.web.origins import origin_allowed

log = logging.getLogger("chatroom.socket")

MAX_FRAME_BYTES = 64 * 1024
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TIMEOUT_SECONDS = 5.0

_connection_ids = itertools.count(1)


class FrameTooBig(Exception):
    pass


class RoomSocket:
    """One WebSocket connection to one room; subclasses speak a wire format."""

    transport = ""

    def __init__(self, websocket: WebSocket, room: str) -> None:
        self.websocket = websocket
        self.room = room
        self.hub: Hub = websocket.app.state.hub
        self.id = next(_connection_ids)
        session = session_of(websocket.cookies, self.hub.settings.secret_key)
        known = from_session(session) if session is not None else None
        self.person = known or guest()
        self.known = known  # only a session is a person in the room's list of people
        self.outbox = SocketOutbox(self.hub.settings.outbox_size, self.write)
        # Rate limits follow the session, so opening more sockets does not buy more messages.
        self.sender = f"session:{known.uid}" if known else f"connection:{self.id}"

    async def run(self) -> None:
        if not origin_allowed(self.websocket.scope, self.hub.settings.allowed_origins):
            self._log("refused", f"origin={self.websocket.headers.get('origin')!r}")
            await self.websocket.close(code=1008)  # before accept: the server answers the handshake with 403
            return
        await self.websocket.accept()
        code: int | None = None
        try:
            async with self.hub.watch(self.room, self.outbox, self.known) as feed:
                await self.started(feed)
                self._log("connect", f"viewers={len(feed.viewers)}")
                code = await self._serve()
        except FeedUnavailable:
            code = CLOSE_TRY_AGAIN_LATER
        except WebSocketDisconnect as exc:
            code = exc.code
        if code in (CLOSE_TRY_AGAIN_LATER, CLOSE_TOO_BIG):
            await self._close(code)
        self._log("disconnect", f"code={code}")

    async def _serve(self) -> int | None:
        """Read until the peer leaves; frames reach it meanwhile through the outbox, which writes itself."""
        reading = asyncio.current_task()
        assert reading is not None
        self.outbox.on_drop = reading.cancel  # a reader that falls behind, or whose socket failed, stops here
        self.outbox.open()
        try:
            await self._read()
        except asyncio.CancelledError:
            if not self.outbox.closed:
                raise  # cancelled from outside (shutdown), not by the outbox
            reading.uncancel()
        except FrameTooBig:
            self._log("refused", "reason=frame-too-big")
            return CLOSE_TOO_BIG
        finally:
            self.outbox.close()
        if self.outbox.overflowed:
            self._log("refused", "reason=slow-reader")
            return CLOSE_TRY_AGAIN_LATER
        return None

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            raw: str | bytes = message.get("text") or message.get("bytes") or ""
            if len(raw) > MAX_FRAME_BYTES // 4 and len(raw.encode() if isinstance(raw, str) else raw) > MAX_FRAME_BYTES:
                raise FrameTooBig
            await self._on_frame(raw)

    async def _on_frame(self, raw: str | bytes) -> None:
        try:
            data: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        try:
            if not isinstance(data, dict):
                raise Refused("invalid_json", 'Each frame must be a JSON object such as {"message": "hello"}.')
            await self.received(data)
        except Refused as refused:
            self._log("refused", f"reason={refused.code}")
            await self.refused(refused)

    async def post(self, text: object) -> bool:
        """Store and announce a message from this connection; False when there was nothing to send."""
        try:
            # Shielded: once begun, storing and announcing finish even if this connection goes away.
            return await asyncio.shield(self.hub.post(self.room, self.person, text, self.sender)) is not None
        except StoreUnavailable as exc:
            log.error("store failed room=%s who=%s: %s", self.room, self.person.name, exc)
            raise not_stored() from exc

    async def send_text(self, text: str) -> None:
        await self.websocket.send_text(text)

    async def _close(self, code: int) -> None:
        # A reader that stopped reading never takes the close frame either: don't wait on it for long.
        with contextlib.suppress(RuntimeError, OSError, TimeoutError):
            await asyncio.wait_for(self.websocket.close(code=code), CLOSE_TIMEOUT_SECONDS)

    def _log(self, event: str, detail: str) -> None:
        client = self.websocket.client
        peer = f"{client.host}:{client.port}" if client else "?"
        log.info(
            "%s transport=%s room=%s conn=%d who=%s peer=%s %s",
            event,
            self.transport,
            self.room,
            self.id,
            self.person.name,
            peer,
            detail,
        )

    # The wire format: what subclasses say.

    async def started(self, feed: RoomFeed) -> None:
        raise NotImplementedError

    async def write(self, frames: Sequence[Frame]) -> None:
        """Send room frames (messages, people, typing, the room list), oldest first."""
        raise NotImplementedError

    async def received(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    async def refused(self, refused: Refused) -> None:
        raise NotImplementedError
