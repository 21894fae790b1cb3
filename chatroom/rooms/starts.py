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
from chatroom.time_zones import UTC

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
    shown_from: int | None = None,
    zone: str = UTC,
) -> Start:
    """Set `outbox`'s floor and say what to send first.

    `joined` is the feed's last `seq` when the outbox joined it; `resume` the last `seq` the client
    has, if it resumes. A replay the entries the feed delivered cannot serve reads the store's log, if
    `may_read_store()`; else, or when it is too long, the connection gets the snapshot. `shown_from` (a
    page's first message) makes the snapshot hold every message from there as it is now, not the latest page: the
    older pages the reader loaded stay on screen, and the list is still complete. Bounded like a replay. A
    snapshot's times are in the viewer's `zone` (the frames that follow: the transport reads them in it).
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
    if shown_from is not None and 1 <= shown_from <= feed.last_seq + 1:
        kept = await _shown_from(feed, shown_from, history, may_read_store)
        if kept is not None and len(kept) <= REPLAY_LIMIT and _within(kept, REPLAY_BYTES):
            outbox.floor = feed.last_seq
            snapshot = feed.renders.fragments.messages_from("".join(m.item_in(zone) for m in kept))
            return Start(outbox.floor, len(feed.viewers), snapshot=snapshot, people=await people(), latest=kept)
    outbox.floor = feed.last_seq
    snapshot = feed.snapshot(zone)
    return Start(outbox.floor, len(feed.viewers), snapshot=snapshot, people=await people(), latest=list(feed.recent))


async def _shown_from(
    feed: RoomFeed, since: int, history: History, may_read_store: Callable[[], bool]
) -> list[RenderedMessage] | None:
    """The room's messages from `since` on, as they are now (up to the feed's last `seq`): from the feed's
    recent ones, else from the store if `may_read_store()`; None when neither may serve it or it is too long."""
    recent = list(feed.recent)
    if since > feed.last_seq or (recent and since >= recent[0].seq):
        return [m for m in recent if m.seq >= since]
    if not may_read_store():
        return None
    stored = await history.from_seq(feed.room, since, REPLAY_LIMIT + 1)
    if len(stored) > REPLAY_LIMIT:
        return None
    # The store may hold messages the feed has not delivered yet (the outbox will), and the feed may have
    # delivered some while the store answered (they are in its recent ones): the list ends at the feed.
    last = feed.last_seq
    kept = [m for m in stored if m.seq <= last]
    after = kept[-1].seq if kept else since - 1
    return kept + [m for m in feed.recent if after < m.seq <= last]


def _within(missed: list[RenderedMessage], limit: int) -> bool:
    """Whether the frames of `missed` come to at most `limit` characters (rendering no further than that)."""
    total = 0
    for message in missed:
        total += len(message.html)
        if total > limit:
            return False
    return True
