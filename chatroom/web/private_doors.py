"""The HTTP doors of a private room, all at once: for anyone who is not its member, it does not exist.

Every page, form and stream of a room is under `/rooms/{room}/`; this runs after `chatroom.web.access.Visitors`
(who is signed in) and answers 404 for a private room the visitor is not a member of, before any of them
(the room page, history, permalinks, a message's menu and edit page, the forms, the SSE stream). The hub
asks again where it changes something; the sockets ask at their handshake.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from chatroom.errors import ChatError, NotFound
from chatroom.rooms.access import PRIVATE
from chatroom.web.access import signed_in
from chatroom.web.error_pages import chat_error
from chatroom.web.state import state_of

PRIVATE_ROOM_PATH = re.compile(rf"/rooms/({re.escape(PRIVATE)}[a-z0-9_-]{{0,49}})(?:/.*)?")


class PrivateRoomDoors:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        match = PRIVATE_ROOM_PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is not None:
            request = Request(scope, receive)
            try:
                if not await state_of(request).hub.access.can_read(signed_in(request), match.group(1)):
                    raise NotFound("There is no such room.")
            except ChatError as error:  # not a member, or the store is down: said, not let through
                await (await chat_error(request, error))(scope, receive, send)
                return
        await self.app(scope, receive, send)
