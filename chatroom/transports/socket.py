"""What the two WebSocket protocols share: the handshake checks, the reader, the outbox that writes, the limits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import cookie_parser
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chatroom import metrics
from chatroom.addresses import client_address
from chatroom.errors import (
    ChatError,
    FeedUnavailable,
    Forbidden,
    FrameTooBig,
    OutboxOverflow,
    Refused,
    SignedOut,
    StoreUnavailable,
    TooManyConnections,
    Unavailable,
)
from chatroom.identity import Person, bearer_token, from_session, guest, session_of
from chatroom.refusals import log_refusal
from chatroom.rooms.hub import Hub
from chatroom.rooms.outbox import Frame, SocketOutbox
from chatroom.rooms.starts import Start
from chatroom.time_zones import ZONE_KEY, zone_or_utc
from chatroom.web.origins import origin_allowed
from chatroom.web.state import state_of
from chatroom.web.ws_protocol import lean_protocol

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
CLOSE_TIMEOUT_SECONDS = 5.0

_connection_ids = itertools.count(1)


class RoomSocket:
    """One WebSocket connection to one room; subclasses speak a wire format.

    What it keeps is kept for the connection's life, however idle: slots, not an attribute dict.
    """

    __slots__ = (
        "_reading",
        "address",
        "bearer",
        "ended",
        "hub",
        "id",
        "known",
        "outbox",
        "person",
        "resume",
        "room",
        "sender",
        "shown_from",
        "state",
        "websocket",
        "zone",
    )

    transport = ""
    live = False  # True: the connection starts from the moment it joined, without the room's history

    def __init__(self, websocket: WebSocket, room: str) -> None:
        self.websocket = websocket
        self.room = room
        self.state = state_of(websocket)
        self.hub: Hub = self.state.hub
        self.id = next(_connection_ids)
        self.zone = zone_or_utc(None)  # the viewer's time zone (from their session, in `run`): times are read in it
        self.bearer: str | None = None  # a bot's token
        self.known: Person | None = None  # only a session is a person in the room's list of people
        self.person = guest()  # until `run` knows who it is
        self.outbox = SocketOutbox(self.state.settings.outbox_size, self, self.hub.turn)
        self.sender = f"connection:{self.id}"
        self.address = client_address(websocket.scope)
        self.ended = False  # the session ended while connected
        self.resume: int | None = None  # the last `seq` the client has, when it resumes
        self.shown_from: int | None = None  # the page list's first `seq`, if it says: the snapshot starts there
        self._reading: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        try:
            await self.prepare()
            session = self._session()
            try:
                if not origin_allowed(self.websocket.scope, self.state.settings.allowed_origins):
                    raise Forbidden(f"origin={self.websocket.headers.get('origin')!r}")
                self.zone = zone_or_utc(session.get(ZONE_KEY))
                self.known = await self._identify(session)
                if not await self.hub.access.can_read(self.known, self.room):  # a private room: members only
                    raise Forbidden("reason=not_a_member")
            except Forbidden as error:
                self._log("refused", str(error))
                # Before accept: the server answers the handshake with 403.
                await self.websocket.close(code=Forbidden.close)
                return
            except Unavailable as error:  # accepted to be closed with 1013: htmx comes back later
                await self.websocket.accept()
                self._log("refused", f"reason={error.code}")
                await self._close(error.close)
                return
            self._forget_handshake()
            if self.known is not None:
                self.person = self.known
                # Rate limits follow the session, so opening more sockets does not buy more messages; and the
                # address, so neither does dropping the cookie.
                self.sender = f"session:{self.known.uid}"
            try:
                slot = self.hub.connection_slot(self.address)
            except TooManyConnections as error:
                # Accepted to be closed with 1013, "try again later", which htmx answers with its backoff; a
                # refused handshake would tell the browser nothing.
                await self.websocket.accept()
                self._log("refused", f"reason={error.code} address={self.address}")
                await self._close(error.close)
                return
            watching = self.state.accounts.watch(session, self.person, self._session_ended, self.bearer)
            del session  # known from here on: not kept for the connection's life
            # Removed from a private room (or left it) in any process: closed as a session that ended is.
            membership = self.hub.access.watch(self.room, self.person.uid, self._session_ended)
            with slot, watching, membership, metrics.CONNECTIONS.labels(self.transport).track_inprogress():
                await self._still_a_member()
                await self._accept_and_serve()
        finally:
            # However it ended: the outbox lets go of this socket, a cycle only the garbage collector would free.
            self.outbox.close()

    async def prepare(self) -> None:
        """Before the handshake's checks: what a wire format needs to know first."""

    def _forget_handshake(self) -> None:
        """Let go of what only the handshake reads (the request's headers and query): kept by the scope and the
        `WebSocket`'s caches, they would stay for the connection's life, 1 KB or more. The client's address (the
        limits', the log's) is the scope's `client`, which stays; the origin, the cookie, a bearer token and the
        query have been read."""
        websocket = self.websocket
        websocket.scope["headers"] = ()
        for cached in ("_headers", "_query_params"):
            websocket.__dict__.pop(cached, None)

    def _session(self) -> dict[str, Any]:
        """The signed session in the cookie, parsed without keeping the cookies (Starlette's `cookies` would)."""
        cookies: dict[str, str] = {}
        for header in self.websocket.headers.getlist("cookie"):
            cookies.update(cookie_parser(header))
        return session_of(cookies, self.state.settings.secret_key) or {}

    async def _identify(self, session: dict[str, Any]) -> Person | None:
        """The account (or bot) behind the cookie's session or the bearer token, else the cookie's guest; None
        for a visitor without either. Forbidden: a token that is not a live one, or a visitor who is not
        signed in when the chat is for members."""
        accounts = self.state.accounts
        self.bearer = bearer_token(self.websocket.headers, self.websocket.query_params)
        account = await accounts.person(session, self.bearer)
        if account is None and self.bearer is not None:
            raise Forbidden("reason=unknown_token")
        if account is None and accounts.members_only:
            raise Forbidden("reason=members_only")
        return account or (from_session(session) if "sid" not in session else None)

    async def _still_a_member(self) -> None:
        """Removed from the private room since the handshake's check (before the watch began): closed as ended.
        A store that stopped answering meanwhile is no reason to close: the check a moment ago let them in."""
        with contextlib.suppress(StoreUnavailable):
            if not await self.hub.access.can_read(self.known, self.room):
                self._session_ended()

    def _session_ended(self) -> None:
        """Signed out, deactivated, a bot's token replaced: stop, and close with 1008."""
        self.ended = True
        self.outbox.close()
        if self._reading is not None:
            self._reading.cancel()

    async def _accept_and_serve(self) -> None:
        await self.websocket.accept()
        if self.known is None:  # a guest name nobody in the room has
            self.person = await self.hub.new_guest(self.room)
        code: int | None = None
        try:
            live = self.live and self.resume is None
            async with self.hub.connect(
                self.room,
                self.outbox,
                self.known,
                resume=self.resume,
                live=live,
                address=self.address,
                shown_from=self.shown_from,
                zone=self.zone,
            ) as start:
                await self.started(start)
                self._log("connect", f"viewers={start.viewers}")
                # Sent: kept for the connection's life it would hold its first frame's people (a list of up to
                # 100 names, 6-8 KB in a big room) once per connection.
                del start
                await self._serve()
        except (FeedUnavailable, FrameTooBig, OutboxOverflow, SignedOut) as error:
            self._log("refused", f"reason={error.code}")
            code = error.close
            if isinstance(error, SignedOut):
                await self.closing_for_good()
            await self._close(code)
        except WebSocketDisconnect as exc:
            code = exc.code
        self._log("disconnect", f"code={code}")

    async def _serve(self) -> None:
        """Read until the peer leaves; frames reach it meanwhile through the outbox, which writes itself.

        Raises FrameTooBig, OutboxOverflow or SignedOut when the connection has to be closed. The reading is
        here, not in a method of its own, and awaits the server's `receive` itself (what Starlette's
        `WebSocket.receive` would, once connected): each coroutine between the connection's task and the
        wait is a frame kept for as long as the connection is idle.
        """
        reading = asyncio.current_task()
        assert reading is not None
        self.outbox.on_drop = reading.cancel  # a reader that falls behind, or whose socket failed, stops here
        self._reading = reading
        self.outbox.open()
        websocket = self.websocket
        receive = websocket._receive
        try:
            while not self.ended:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.disconnect":
                    websocket.client_state = WebSocketState.DISCONNECTED
                    raise WebSocketDisconnect(message.get("code", 1000))
                if kind != "websocket.receive":
                    raise RuntimeError(f"expected websocket.receive or websocket.disconnect, got {kind!r}")
                raw: str | bytes = message.get("text") or message.get("bytes") or ""
                if len(raw) > MAX_FRAME_BYTES // 4 and _size(raw) > MAX_FRAME_BYTES:
                    raise FrameTooBig(MAX_FRAME_BYTES)
                await self._on_frame(raw)
        except asyncio.CancelledError:
            if not self.outbox.closed:
                raise  # cancelled from outside (shutdown), not by the outbox or the session's end
            reading.uncancel()
        finally:
            self._reading = None
            self.outbox.close()
        if self.ended:
            raise SignedOut
        if self.outbox.overflowed:
            raise OutboxOverflow

    async def _on_frame(self, raw: str | bytes) -> None:
        try:
            data: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        try:
            if not isinstance(data, dict):
                raise Refused("invalid_json", 'Each frame must be a JSON object such as {"message": "hello"}.')
            await self.received(data)
        except ChatError as error:  # a refusal, or a message the store did not take: the sender is told
            self._log("refused", f"reason={error.code}", refusal=error.code)
            await self.refused(error)

    async def post(self, text: object, nonce: object = None, reply_to: object = None) -> bool:
        """Store and announce a message (a reply to message `reply_to`, if given) from this connection; False when
        there was nothing to send."""
        # Shielded: once begun, storing and announcing finish even if this connection goes away.
        posting = self.hub.post(self.room, self.person, text, self.sender, self.address, nonce, reply_to)
        return await asyncio.shield(posting) is not None

    async def send_text(self, text: str) -> None:
        await self.websocket.send_text(text)

    def write_now(self, frames: Sequence[Frame]) -> bool:
        """Send room frames at once, straight to the connection, when the server's protocol allows it (see
        `LeanWebSocketProtocol.write_now`): a fan-out's write to each socket without a coroutine. False: nothing
        was sent, `write` sends them."""
        protocol = lean_protocol(self.websocket._send)
        if protocol is None or not protocol.writes_now():
            return False
        texts = self.texts(frames)
        if texts:
            protocol.write_now(texts)
        return True

    async def write(self, frames: Sequence[Frame]) -> None:
        """Send room frames (messages, people, typing, the room list), oldest first."""
        for text in self.texts(frames):
            await self.websocket.send_text(text)

    async def closing_for_good(self) -> None:
        """The connection is closed for good (1008): a transport that can say so to the page does."""

    async def _close(self, code: int) -> None:
        # A reader that stopped reading never takes the close frame either: don't wait on it for long.
        with contextlib.suppress(RuntimeError, OSError, TimeoutError):
            await asyncio.wait_for(self.websocket.close(code=code), CLOSE_TIMEOUT_SECONDS)

    def _log(self, event: str, detail: str, refusal: str = "") -> None:
        """One line; a `refusal` is logged once a minute per address (or connection) and reason."""
        client = self.websocket.client
        peer = f"{client.host}:{client.port}" if client else "?"
        line = "%s transport=%s room=%s conn=%d who=%s peer=%s %s"
        args = (event, self.transport, self.room, self.id, self.person.name, peer, detail)
        if refusal:
            log_refusal(log, self.address or f"conn:{self.id}", refusal, line, *args)
        else:
            log.info(line, *args)

    # The wire format: what subclasses say.

    async def started(self, start: Start) -> None:
        """Send what the connection starts from (see `Start`)."""
        raise NotImplementedError

    def texts(self, frames: Sequence[Frame]) -> list[str]:
        """The texts that carry room frames (messages, people, typing, the room list) in this wire format, oldest
        first: a message of the socket each."""
        raise NotImplementedError

    async def received(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    async def refused(self, error: ChatError) -> None:
        """Tell this connection's sender why their frame was not taken; the socket stays open."""
        raise NotImplementedError


def _size(raw: str | bytes) -> int:
    return len(raw.encode() if isinstance(raw, str) else raw)
