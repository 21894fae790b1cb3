"""What a signed-in person has not read, room by room, and what their room list and title show of it."""

from __future__ import annotations

from dataclasses import dataclass

from chatroom.rooms.render import Badge
from chatroom.store import NOTIFY_ALL, NOTIFY_MENTIONS, NOTIFY_MUTE, Reading

CAP = 100  # a room's count stops here (shown "99+"): reading one costs at most this many rows


@dataclass(slots=True)
class Count:
    """What a person has not read in a room: messages by others after `seq`, counted up to `last`."""

    seq: int
    last: int
    unread: int = 0
    mentions: int = 0
    notify: str = NOTIFY_ALL

    @property
    def badge(self) -> Badge:
        if self.notify == NOTIFY_MUTE:
            return Badge(0, False, True)
        shown = self.mentions if self.notify == NOTIFY_MENTIONS else self.unread
        return Badge(min(shown, CAP), self.mentions > 0)

    def read(self, seq: int) -> None:
        """Read up to `seq`: all that is counted, when that is past `last` (a read of part of it is the store's
        to count)."""
        self.seq = max(self.seq, seq)
        if seq >= self.last:
            self.last = seq
            self.unread = self.mentions = 0


def counts_of(readings: list[Reading]) -> dict[str, Count]:
    return {r.room: Count(r.seq, max(r.last_seq, r.seq), r.unread, r.mentions, r.notify) for r in readings}


def total(counts: dict[str, Count], current: str) -> int:
    """What the title counts: the unread messages (as each room's choice says) in the person's other rooms."""
    return sum(c.badge.unread for room, c in counts.items() if room != current)


def badges(counts: dict[str, Count], current: str) -> dict[str, Badge]:
    """What each of the person's rooms shows in their list: nothing for the one they are in."""
    return {room: (Badge() if room == current else count.badge) for room, count in counts.items()}
