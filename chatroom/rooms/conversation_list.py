"""Each signed-in person's list of private rooms and direct conversations, kept current on their connections here.

The public room list is one for everyone; this one is a person's own, so it is rendered for them alone, and
only when it changed for them: they were added to a room, or a direct conversation of theirs has a new
message (the bus tells every process; see `chatroom.rooms.access.Access`). A person's list is read at most
once per `INTERVAL_SECONDS` however many messages arrive, and only in the processes they are connected to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import jinja2

from chatroom.rooms.access import is_private
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Signal
from chatroom.rooms.render import Badge
from chatroom.rooms.throttle import Throttle
from chatroom.store import Conversation, MessageStore

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
LISTED = 50  # the list's length: the latest active first


class ConversationLists:
    def __init__(
        self,
        store: MessageStore,
        env: jinja2.Environment,
        badges: Callable[[Outbox], tuple[Mapping[str, Badge], int] | None],
    ) -> None:
        self.store = store
        self._template = env.get_template("_conversations.html")
        self._badges = badges  # a connection's unread counts by room (`chatroom.rooms.unread.Unread.badges`)
        self._people: dict[str, dict[Outbox, str]] = {}  # uid -> each connection here and its room
        self._owners: dict[Outbox, str] = {}  # connection -> its person's uid
        self._latest: dict[str, list[Conversation]] = {}  # uid -> their list as last read, while connected here
        self._due: set[str] = set()  # people whose list is to be read, then sent
        self._send = Throttle(INTERVAL_SECONDS, self._flush)

    def arrive(self, uid: str, room: str, outbox: Outbox) -> None:
        self._people.setdefault(uid, {})[outbox] = room
        self._owners[outbox] = uid

    def leave(self, uid: str, outbox: Outbox) -> None:
        self._owners.pop(outbox, None)
        connections = self._people.get(uid)
        if connections is not None:
            connections.pop(outbox, None)
            if not connections:
                del self._people[uid]
                self._latest.pop(uid, None)

    def render_for(self, outbox: Outbox) -> str:
        """The list of the connection's person with their current counts, out of band. "" until it is read: it is
        read (and sent) once one of their private rooms has something to show, not at every arrival."""
        uid = self._owners.get(outbox)
        if uid is None:
            return ""
        conversations = self._latest.get(uid)
        if conversations is None:
            found = self._badges(outbox)
            if found is not None and any(
                is_private(room) and (badge.unread or badge.mentioned) for room, badge in found[0].items()
            ):
                self._due.add(uid)
                self._send()
            return ""
        return self.render(conversations, self._people[uid][outbox], oob=True, outbox=outbox)

    def changed(self, uid: str) -> None:
        """Person `uid`'s list changed: sent again to their connections here (if any), within a second."""
        if uid in self._people:
            self._latest.pop(uid, None)  # not shown again until read again
            self._due.add(uid)
            self._send()

    async def read(self, uid: str) -> list[Conversation]:
        return await self.store.conversations(uid, LISTED)

    def render(
        self, conversations: list[Conversation], room: str, oob: bool = False, outbox: Outbox | None = None
    ) -> str:
        found = self._badges(outbox) if outbox is not None else None
        badges = found[0] if found is not None else {}
        return self._template.render(conversations=conversations, room=room, oob=oob, badges=badges)

    async def close(self) -> None:
        await self._send.stop()

    async def _flush(self) -> None:
        due, self._due = self._due, set()
        for uid in due:
            connections = self._people.get(uid)
            if not connections:
                continue
            conversations = await self.read(uid)
            if uid not in self._people:  # gone meanwhile
                continue
            self._latest[uid] = conversations
            for outbox, room in list(connections.items()):
                outbox.offer(Signal(self.render(conversations, room, oob=True, outbox=outbox)))
            await asyncio.sleep(0)
