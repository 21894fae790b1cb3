"""Who is typing in each room: set by throttled input events, cleared by a message or 5 s of quiet.

The timing is the server's: every process keeps its own timers, re-armed by each typing event on
the room's bus channel. The indicator names the first `NAMED` people to start typing and counts the
rest ("alice, bob, carol and 5 others are typing…"), so its cost does not grow with the typists:
while anyone types, a room's changes are shown at most once per `REFRESH_SECONDS`, each time
rendered at most `NAMED` + 2 times (everyone's; each named typist's, who should not see themselves;
and the one the unnamed typists share), and each viewer is sent theirs if it differs from the last.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

from chatroom.bus import Bus
from chatroom.rooms.presence import Presence, Signal
from chatroom.rooms.render import Fragments
from chatroom.store import Message

log = logging.getLogger(__name__)

QUIET_SECONDS = 5.0
NAMED = 3
REFRESH_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Typists:
    """Who is typing, as one viewer sees it: the people named, and how many more there are."""

    names: list[str]
    others: int = 0


class TypingIndicator:
    def __init__(
        self,
        bus: Bus,
        fragments: Fragments,
        presence: Presence,
        quiet: float = QUIET_SECONDS,
        refresh: float = REFRESH_SECONDS,
    ) -> None:
        self.bus = bus
        self.fragments = fragments
        self.presence = presence
        self.quiet = quiet
        self.refresh = refresh
        # room -> uid -> (name, timer); in the order they started typing, which decides who is named.
        self._typists: dict[str, dict[str, tuple[str, asyncio.TimerHandle]]] = {}
        self._due: dict[str, asyncio.Handle] = {}  # room -> its next showing
        self._shown: dict[str, float] = {}  # room -> when it was last shown (loop time)
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
            self._schedule(room)

    def message_sent(self, message: Message) -> None:
        """A message clears its author's indicator at once (in every process: each sees the message)."""
        typists = self._typists.get(message.room)
        if typists is not None and message.author_id in typists:
            self.apply(message.room, message.author_id, message.author, False)

    def seen_by(self, room: str, uid: str | None) -> Typists:
        """Who is typing in the room, as `uid` should see it (without themselves)."""
        typists = self._typists.get(room, {})
        names = []
        for who, (name, _) in typists.items():  # stops after NAMED + 1 at the most
            if who != uid:
                names.append(name)
                if len(names) == NAMED:
                    break
        return Typists(names, len(typists) - len(names) - (uid in typists))

    def html_for(self, room: str, uid: str | None) -> str:
        seen = self.seen_by(room, uid)
        return self.fragments.typing(seen.names, seen.others, oob=True)

    def close(self) -> None:
        for typists in self._typists.values():
            for _, timer in typists.values():
                timer.cancel()
        for handle in self._due.values():
            handle.cancel()
        self._typists.clear()
        self._due.clear()
        self._shown.clear()

    def _schedule(self, room: str) -> None:
        """Show the room's change now, or once `refresh` has passed since it was last shown: a flood is one frame."""
        if room in self._due:
            return
        loop = asyncio.get_running_loop()
        wait = self._shown.get(room, -self.refresh) + self.refresh - loop.time()
        self._due[room] = loop.call_later(wait, self._show, room) if wait > 0 else loop.call_soon(self._show, room)

    def _show(self, room: str) -> None:
        del self._due[room]
        typists = self._typists.get(room, {})
        if typists:
            self._shown[room] = asyncio.get_running_loop().time()
        else:
            self._shown.pop(room, None)
        viewers = self.presence.viewers.get(room)
        if not viewers:
            return
        everyone = self.html_for(room, None)
        # The named typists and one unnamed typist, who stands for all the others: each sees themselves left out.
        own = {uid: self.html_for(room, uid) for uid in itertools.islice(typists, NAMED + 1)}
        unnamed = own.pop(next(reversed(own))) if len(own) > NAMED else everyone
        for outbox, viewer in viewers.items():
            html = own.get(viewer.uid) or (unnamed if viewer.uid in typists else everyone)
            if viewer.typing_html != html:
                viewer.typing_html = html
                outbox.offer(Signal(html))

    async def _publish(self, room: str, uid: str, name: str, typing: bool) -> None:
        try:
            await self.bus.publish_typing(room, uid, name, typing)
        except Exception as exc:
            log.info("typing not announced room=%s: %r", room, exc)
