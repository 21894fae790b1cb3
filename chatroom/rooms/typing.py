"""Who is typing in each room: set by throttled input events, cleared by a message or 5 s of quiet.

The timing is the server's: every process keeps its own timers, re-armed by each typing event on
the room's bus channel. The indicator is rendered once per change, plus one variant for each
person typing (who should not see themselves), never once per viewer.
"""

from __future__ import annotations

import asyncio
import logging

from chatroom.bus import Bus
from chatroom.rooms.presence import Presence, Signal
from chatroom.rooms.render import Fragments
from chatroom.store import Message

log = logging.getLogger(__name__)

QUIET_SECONDS = 5.0


class TypingIndicator:
    def __init__(self, bus: Bus, fragments: Fragments, presence: Presence, quiet: float = QUIET_SECONDS) -> None:
        self.bus = bus
        self.fragments = fragments
        self.presence = presence
        self.quiet = quiet
        self._typists: dict[str, dict[str, tuple[str, asyncio.TimerHandle]]] = {}  # room -> uid -> (name, timer)
        self._publishing: set[asyncio.Task[None]] = set()

    def typed(self, room: str, uid: str, name: str, typing: bool) -> None:
        """A connection here says its person is (or stopped) typing: show it here, tell the other processes."""
        self.apply(room, uid, name, typing)
        task = asyncio.get_running_loop().create_task(self._publish(room, uid, name, typing))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def apply(self, room: str, uid: str, name: str, typing: bool) -> None:
        typists = self._typists.get(room, {})
        current = typists.get(uid)
        if current is not None:
            current[1].cancel()
        if typing:
            timer = asyncio.get_running_loop().call_later(self.quiet, self.apply, room, uid, name, False)
            self._typists.setdefault(room, typists)[uid] = (name, timer)
            changed = current is None or current[0] != name
        else:
            typists.pop(uid, None)
            changed = current is not None
        if not typists:
            self._typists.pop(room, None)
        if changed:
            self._show(room)

    def message_sent(self, message: Message) -> None:
        """A message clears its author's indicator at once (in every process: each sees the message)."""
        typists = self._typists.get(message.room)
        if typists is not None and message.author_id in typists:
            self.apply(message.room, message.author_id, message.author, False)

    def names(self, room: str, uid: str | None) -> list[str]:
        """Who is typing in the room, as `uid` should see it (without themselves)."""
        return [name for who, (name, _) in self._typists.get(room, {}).items() if who != uid]

    def html_for(self, room: str, uid: str | None) -> str:
        return self.fragments.typing(self.names(room, uid), oob=True)

    def close(self) -> None:
        for typists in self._typists.values():
            for _, timer in typists.values():
                timer.cancel()
        self._typists.clear()

    def _show(self, room: str) -> None:
        viewers = self.presence.viewers.get(room)
        if not viewers:
            return
        typists = self._typists.get(room, {})
        everyone = self.html_for(room, None)
        # The people typing see the others only; everyone else shares one rendering.
        own = {uid: self.html_for(room, uid) for uid in typists}
        for outbox, viewer in viewers.items():
            html = own.get(viewer.uid, everyone)
            if viewer.typing_html != html:
                viewer.typing_html = html
                outbox.offer(Signal(html))

    async def _publish(self, room: str, uid: str, name: str, typing: bool) -> None:
        try:
            await self.bus.publish_typing(room, uid, name, typing)
        except Exception as exc:
            log.info("typing not announced room=%s: %r", room, exc)
