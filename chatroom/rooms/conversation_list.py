"""Each signed-in person's list of private rooms and direct conversations, kept current on their connections here.

The public room list is one for everyone; this one is a person's own, so it is rendered for them alone, and
only when it changed for them: they were added to a room, or a direct conversation of theirs has a new
message (the bus tells every process; see `chatroom.rooms.access.Access`). A person's list is read at most
once per `INTERVAL_SECONDS` however many messages arrive, and only in the processes they are connected to.
"""

from __future__ import annotations

import asyncio
import logging

import jinja2

from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Signal
from chatroom.rooms.throttle import Throttle
from chatroom.store import Conversation, MessageStore

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
LISTED = 50  # the list's length: the latest active first


class ConversationLists:
    def __init__(self, store: MessageStore, env: jinja2.Environment) -> None:
        self.store = store
        self._template = env.get_template("_conversations.html")
        self._people: dict[str, dict[Outbox, str]] = {}  # uid -> each connection here and its room
        self._due: set[str] = set()
        self._send = Throttle(INTERVAL_SECONDS, self._flush)

    def arrive(self, uid: str, room: str, outbox: Outbox) -> None:
        self._people.setdefault(uid, {})[outbox] = room

    def leave(self, uid: str, outbox: Outbox) -> None:
        connections = self._people.get(uid)
        if connections is not None:
            connections.pop(outbox, None)
            if not connections:
                del self._people[uid]

    def changed(self, uid: str) -> None:
        """Person `uid`'s list changed: sent again to their connections here (if any), within a second."""
        if uid in self._people:
            self._due.add(uid)
            self._send()

    async def read(self, uid: str) -> list[Conversation]:
        return await self.store.conversations(uid, LISTED)

    def render(self, conversations: list[Conversation], room: str, oob: bool = False) -> str:
        return self._template.render(conversations=conversations, room=room, oob=oob)

    async def close(self) -> None:
        await self._send.stop()

    async def _flush(self) -> None:
        due, self._due = self._due, set()
        for uid in due:
            connections = self._people.get(uid)
            if not connections:
                continue
            conversations = await self.read(uid)
            rendered: dict[str, Signal] = {}
            for outbox, room in list(connections.items()):
                if room not in rendered:
                    rendered[room] = Signal(self.render(conversations, room, oob=True))
                outbox.offer(rendered[room])
            await asyncio.sleep(0)
