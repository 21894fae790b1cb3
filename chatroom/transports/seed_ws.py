"""The seed's JSON protocol (the Django Channels tutorial's), kept for bots and the original page."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import replace
from typing import Any

import orjson
from starlette.websockets import WebSocket

from chatroom.errors import ChatError, Refused, Unavailable
from chatroom.names import chosen_name
from chatroom.rooms.outbox import Frame
from chatroom.rooms.starts import Start
from chatroom.transports.socket import RoomSocket
from chatroom.validation import room_name, whole_number

CONNECTED_FRAME = {"type": "connection_established", "message": "You are now connected!"}


RESET = orjson.dumps({"type": "reset"}).decode()


class SeedSocket(RoomSocket):
    """The seed's protocol: a client gets the messages from when it joined; with `?since=N` (the last `seq` it
    saw), first every entry of the room's log after N (messages, edits, deletions, reactions), or, when N is
    older than the server keeps, `{"type": "reset"}` and the latest messages."""

    __slots__ = ("connected", "epoch")

    transport = "json"
    live = True

    def __init__(self, websocket: WebSocket, room: str) -> None:
        super().__init__(websocket, room)
        since = websocket.query_params.get("since")
        self.epoch = websocket.query_params.get("epoch")  # the log the client's `since` is a place in
        if since is not None:
            self.resume = whole_number(since)
            if self.resume is None:
                self.resume = -1  # not a place in any log: the client starts again from the latest messages

    async def prepare(self) -> None:
        try:
            epoch = await self.hub.epoch()
        except Unavailable:
            epoch = ""
        if self.epoch is not None and self.epoch != epoch:
            self.resume = -1  # a place in another log (a replaced or restored database): start again
        self.connected = orjson.dumps({**CONNECTED_FRAME, "epoch": epoch}).decode()

    async def started(self, start: Start) -> None:
        await self.send_text(self.connected)
        if start.missed is not None:
            await self.write(start.missed)
        elif start.latest is not None:
            await self.send_text(RESET)
            await self.write(start.latest)

    def texts(self, frames: Sequence[Frame]) -> list[str]:
        # People, typing and the room list are for the htmx page.
        return [frame.json for frame in frames if frame.json is not None]

    async def received(self, data: dict[str, Any]) -> None:
        if "message" not in data:
            raise Refused("missing_message", 'The frame has no "message" field.')
        if "name" in data and self.person.signed_in:
            if data["name"] != self.person.name:
                raise Refused("invalid_name", "You are signed in: you speak under your account's name.")
        elif "name" in data:
            renamed = replace(self.person, name=chosen_name(data["name"], current=self.person.name))
            if renamed.name != self.person.name:
                await self.hub.claim_name(renamed, [self.room])
            self.person = renamed
        # A client's own token makes its retries safe; `reply_to` (a message id of the room) makes it a reply.
        await self.post(data["message"], data.get("nonce"), data.get("reply_to"))

    async def refused(self, error: ChatError) -> None:
        await self.send_text(error.json_frame())


def seed_socket(websocket: WebSocket) -> Awaitable[None]:
    """The connection, awaited by the app: `SeedSocket.run` itself (see `chatroom.transports.htmx_ws.htmx_socket`)."""
    try:
        room = room_name(websocket.path_params.get("room", "lobby"))
    except Refused:
        return websocket.close(code=Refused.close)
    return SeedSocket(websocket, room).run()
