"""Server-Sent Events: the fallback transport, resumable with Last-Event-ID."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request

from chatroom.identity import from_session
from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.hub import Hub
from chatroom.rooms.outbox import Outbox, OutboxOverflow

log = logging.getLogger("chatroom.sse")

# Further behind than this, a reconnecting client gets the snapshot instead of a replay.
REPLAY_LIMIT = 500


async def room_events(request: Request, room: str) -> EventSourceResponse:
    hub: Hub = request.app.state.hub
    last_event_id = request.headers.get("last-event-id", "")
    peer = f"{request.client.host}:{request.client.port}" if request.client else "?"
    person = from_session(request.session)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        outbox = Outbox(hub.settings.outbox_size)
        log.info("connect transport=sse room=%s peer=%s last-event-id=%r", room, peer, last_event_id)
        try:
            async with hub.watch(room, outbox, person) as feed:
                for event in await _catch_up(hub, feed, outbox, last_event_id):
                    yield event
                while True:
                    for frame in await outbox.take():
                        yield ServerSentEvent(data=frame.html, id=str(frame.seq) if frame.seq else None)
        except OutboxOverflow:
            log.info("refused transport=sse room=%s peer=%s reason=slow-reader", room, peer)
        finally:
            log.info("disconnect transport=sse room=%s peer=%s", room, peer)

    return EventSourceResponse(stream(), ping=15)


async def _catch_up(hub: Hub, feed: RoomFeed, outbox: Outbox, last_event_id: str) -> list[ServerSentEvent]:
    """What a client resuming after `last_event_id` missed, or the snapshot when that is unknown or too old.

    Either way the room's people, who is typing and the room list come too: they may have changed
    while the client was away, and only changes are sent from here on.
    """
    seen = int(last_event_id) if last_event_id.isdigit() and len(last_event_id) < 19 else -1
    if 0 <= seen <= feed.last_seq:
        recent = list(feed.recent)
        if (recent and seen >= recent[0].seq - 1) or seen == feed.last_seq:
            missed = [m for m in recent if m.seq > seen]
            outbox.floor = feed.last_seq
        else:
            missed = await hub.history.after(feed.room, seen, REPLAY_LIMIT + 1)
            outbox.floor = max(outbox.floor, missed[-1].seq if missed else seen)
        if len(missed) <= REPLAY_LIMIT:
            # The people, who types and the room list first, as they are now (no id: not a message).
            around = ServerSentEvent(data=await hub.people_snapshot(feed.room, outbox))
            return [around, *(ServerSentEvent(data=m.html, id=str(m.seq)) for m in missed)]
    snapshot = feed.snapshot_for(outbox)
    people = await hub.people_snapshot(feed.room, outbox)
    return [ServerSentEvent(data=snapshot + people, id=str(outbox.floor))]
