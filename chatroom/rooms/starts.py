"""Where a connection starts: the snapshot of the room's latest messages, a replay of what it missed, or now.

`start` is the one place a connection's floor is set: messages at or below it were sent in its start,
so the outbox passes on only later ones, and nothing is missed or sent twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.history import History
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.render import RenderedMessage

# Further behind than this, in messages or in bytes, a resuming connection gets the snapshot instead
# of a replay: 500 long messages are 2.3 MiB of frames, sent to anyone who asks with an old id.
REPLAY_LIMIT = 500
REPLAY_BYTES = 2**20


@dataclass(frozen=True, slots=True)
class Start:
    """What a connection is sent first; from then on its outbox passes on only messages after `last_seq`.

    A new connection gets `snapshot` (the `#messages` list of the latest messages, which are `latest`);
    one that resumes gets `missed` (the log's entries after its position, in order: new messages and
    changes). Either way `people` is the room's people, who types and the room list as they are now. A
    connection started `live` gets neither.
    """

    last_seq: int
    viewers: int
    snapshot: str = ""
    missed: list[RenderedMessage] | None = None
    people: str = ""
    latest: list[RenderedMessage] | None = None  # with a snapshot: its messages, for the JSON protocol


async def start(
    feed: RoomFeed,
    outbox: Outbox,
    joined: int,
    resume: int | None,
    live: bool,
    history: History,
    may_read_store: Callable[[], bool],
    people: Callable[[], Awaitable[str]],
) -> Start:
    """Set `outbox`'s floor and say what to send first.

    `joined` is the feed's last `seq` when the outbox joined it; `resume` the last `seq` the client
    has, if it resumes. A replay the entries the feed delivered cannot serve reads the store's log, if
    `may_read_store()`; else, or when it is too long, the connection gets the snapshot.
    """
    if resume is not None and 0 <= resume <= feed.last_seq:
        delivered = list(feed.log)
        missed: list[RenderedMessage] | None = None
        if (delivered and resume >= delivered[0].seq - 1) or resume == feed.last_seq:
            missed, floor = [m for m in delivered if m.seq > resume], feed.last_seq
        elif may_read_store():
            missed = await history.after(feed.room, resume, REPLAY_LIMIT + 1)
            floor = max(joined, missed[-1].seq if missed else resume)
        if missed is not None and len(missed) <= REPLAY_LIMIT and _within(missed, REPLAY_BYTES):
            outbox.floor = floor
            return Start(floor, len(feed.viewers), missed=missed, people=await people())
    if live:
        outbox.floor = joined
        return Start(joined, len(feed.viewers))
    outbox.floor = feed.last_seq
    snapshot = feed.snapshot()
    return Start(outbox.floor, len(feed.viewers), snapshot=snapshot, people=await people(), latest=list(feed.recent))


def _within(missed: list[RenderedMessage], limit: int) -> bool:
    """Whether the frames of `missed` come to at most `limit` characters (rendering no further than that)."""
    total = 0
    for message in missed:
        total += len(message.html)
        if total > limit:
            return False
    return True
