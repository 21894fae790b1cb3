"""Server-Sent Events: the fallback transport, resumable with Last-Event-ID."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from chatroom import metrics
from chatroom.addresses import client_address
from chatroom.errors import OutboxOverflow, SignedOut, StoreUnavailable, TooManyConnections
from chatroom.identity import from_session
from chatroom.rooms.limits import Slot
from chatroom.rooms.outbox import Outbox, html_in
from chatroom.rooms.starts import Start
from chatroom.time_zones import ZONE_KEY, zone_or_utc
from chatroom.validation import whole_number
from chatroom.web.access import signed_in
from chatroom.web.state import state_of

log = logging.getLogger(__name__)


async def room_events(request: Request, room: str) -> EventSourceResponse:
    state = state_of(request)
    hub = state.hub
    last_event_id = request.headers.get("last-event-id", "")
    resume = whole_number(last_event_id)
    peer = f"{request.client.host}:{request.client.port}" if request.client else "?"
    person = signed_in(request) or from_session(request.session)
    address = client_address(request.scope)
    zone = zone_or_utc(request.session.get(ZONE_KEY))

    async def stream() -> AsyncIterator[ServerSentEvent]:
        outbox = Outbox(state.settings.outbox_size)
        ended: list[bool] = []  # the session ended: the stream stops, and a reconnect is a signed-out visitor

        def end() -> None:
            ended.append(True)
            outbox.drop()

        log.info("connect transport=sse room=%s peer=%s last-event-id=%r", room, peer, last_event_id)
        try:
            with (
                state.accounts.watch(request.session, person, end) if person else contextlib.nullcontext(),
                hub.access.watch(room, person.uid if person else "", end),
            ):
                with contextlib.suppress(StoreUnavailable):  # removed since the doors' check, before the watch
                    if not await hub.access.can_read(person, room):
                        return
                async with hub.connect(room, outbox, person, resume=resume, address=address, zone=zone) as start:
                    first = _first_events(start, hub.fragments.live, zone)
                    del start  # kept, it would hold the first event's text for the stream's life (as `first` would)
                    while first:
                        yield first.pop(0)
                    while True:
                        for frame in await outbox.take():
                            yield ServerSentEvent(data=html_in(frame, zone), id=str(frame.seq) if frame.seq else None)
        except OutboxOverflow as error:
            reason = SignedOut.default_code if ended else error.code
            log.info("refused transport=sse room=%s peer=%s reason=%s", room, peer, reason)
        finally:
            log.info("disconnect transport=sse room=%s peer=%s", room, peer)

    try:
        slot = hub.connection_slot(address)
    except TooManyConnections as error:  # a 429 before the stream starts
        log.info("refused transport=sse room=%s peer=%s reason=%s address=%s", room, peer, error.code, address)
        raise
    return HeldStream(stream(), slot)


class HeldStream(EventSourceResponse):
    """A stream that holds one of its client address's connection slots until it ends, however it ends."""

    def __init__(self, events: AsyncIterator[ServerSentEvent], slot: Slot) -> None:
        super().__init__(events, ping=15)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with metrics.CONNECTIONS.labels("sse").track_inprogress():
                await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


def _first_events(start: Start, live: str, zone: str) -> list[ServerSentEvent]:
    """A resumed stream: the room's people, who types and the room list as they are now (no id: not a
    message; they may have changed while the client was away), then each message it missed. A new one:
    the snapshot and the people in one event, whose id is the snapshot's last `seq`. Either says it is `live`."""
    if start.missed is not None:
        missed = (ServerSentEvent(data=m.html_in(zone), id=str(m.seq)) for m in start.missed)
        return [ServerSentEvent(data=live + start.people), *missed]
    return [ServerSentEvent(data=start.snapshot + live + start.people, id=str(start.last_seq))]
