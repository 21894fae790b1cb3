"""One room in one process: its bus subscription, its recent messages and the viewers it fans out to."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

from chatroom import metrics
from chatroom.bus import Bus, BusEvent
from chatroom.errors import StoreUnavailable
from chatroom.rooms.outbox import Frame, Outbox
from chatroom.rooms.render import ZONES_KEPT, RenderedMessage
from chatroom.rooms.render_cache import RenderCache
from chatroom.store import DELETE, EDIT, Message, MessageStore, Quote
from chatroom.time_zones import UTC

log = logging.getLogger(__name__)

CATCH_UP_PAGE = 500


class RoomFeed:
    """Delivers a room's log to local viewers exactly once each, in `seq` order: new messages, and changes
    (edits, deletions, reactions), which also update the recent messages that snapshots are made of.

    Entries come from the bus, or directly from a local sender; whenever `seq` jumps (a lost or
    reordered event) or the bus asks for a resync, the feed re-reads the store's log from the last `seq`
    it delivered, so the bus may lose events without viewers losing messages or changes.
    """

    def __init__(self, room: str, store: MessageStore, bus: Bus, renders: RenderCache, history: int) -> None:
        self.room = room
        self.store = store
        self.bus = bus
        self.renders = renders
        self.viewers: set[Outbox] = set()
        self.recent: deque[RenderedMessage] = deque(maxlen=history)  # the latest messages, as they are now
        self.log: deque[RenderedMessage] = deque(maxlen=history)  # the latest entries delivered, for replays
        self.last_seq = 0
        self.ready = asyncio.Event()
        self._behind = asyncio.Event()
        self._snapshots: dict[str, str] = {}  # by zone: the zones its viewers read times in
        self._task: asyncio.Task[None] | None = None
        self.on_signal: Callable[[BusEvent], None] | None = None  # events that are not messages (people, typing)
        self.on_message: Callable[[Message], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"feed:{self.room}")

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def snapshot(self, zone: str = UTC) -> str:
        """The frame that makes a viewer's list complete: the room's latest messages (their times in `zone`),
        replacing the list. Rendered once for every viewer in that zone until the next entry."""
        snapshot = self._snapshots.get(zone)
        if snapshot is None:
            items = "".join(m.item_in(zone) for m in self.recent)
            first = self.recent[0].seq if self.recent else 1
            snapshot = self.renders.fragments.message_list(self.room, items, first, oob=True)
            if len(self._snapshots) < ZONES_KEPT + 1:
                self._snapshots[zone] = snapshot
        return snapshot

    def receive(self, message: Message) -> None:
        """A message stored by this process or announced by the bus; duplicates and gaps are fine."""
        if message.seq == self.last_seq + 1 and self.ready.is_set():
            self._deliver(self._rendered(message))
        elif message.seq > self.last_seq:
            self._behind.set()

    def send_to_all(self, frame: Frame) -> None:
        for outbox in self.viewers:
            outbox.offer(frame)

    def _deliver(self, rendered: RenderedMessage) -> None:
        self.last_seq = rendered.seq
        self.log.append(rendered)
        self._snapshots.clear()
        if rendered.message.kind:  # a change: the message, where the recent ones hold it, is now this
            self._replace(rendered)
            if rendered.message.kind in (EDIT, DELETE):
                self._rewrite(rendered.message)
        else:
            self.recent.append(rendered)
        self.send_to_all(rendered)
        if not rendered.message.kind:  # a new message, not a change to one
            metrics.MESSAGES_DELIVERED.inc(len(self.viewers))
        if self.on_message is not None and not rendered.message.kind:
            self.on_message(rendered.message)

    def _replace(self, change: RenderedMessage) -> None:
        for index, kept in enumerate(self.recent):
            if kept.seq == change.message.id:
                self.recent[index] = self.renders.rendered(change.message.current(), kept.previous)
                return

    def _rewrite(self, change: Message) -> None:
        """After an edit or a deletion, what the feed keeps shows no text of the message but its current one: the
        replies quoting it, among the recent messages (snapshots) and the entries (replays), and the message's own
        earlier entries. A replay from here on sends them as they are now; the change's own frame updates the
        quotes of every page (`Fragments.requote`)."""
        quote = Quote.of(change)
        for index, kept in enumerate(self.recent):
            if kept.message.reply_to == quote.id and kept.message.quote != quote:
                self.recent[index] = self.renders.rendered(replace(kept.message, quote=quote), kept.previous)
        current = change.current()
        for index, kept in enumerate(self.log):
            entry = kept.message
            if entry.id == quote.id and entry.seq != change.seq:
                entry = replace(current, seq=entry.seq, target=entry.target, kind=entry.kind)
            elif entry.reply_to == quote.id:
                entry = replace(entry, quote=quote)
            if entry != kept.message:
                self.log[index] = self.renders.rendered(entry, kept.previous)

    def _rendered(self, message: Message) -> RenderedMessage:
        """The next entry of the log, rendered knowing the message before it (grouping and day breaks): for a
        new message the last one, for a change the one before the message it changes."""
        if message.kind:
            before = [kept.message for kept in self.recent if kept.seq < message.id]
            return self.renders.rendered(message, before[-1] if before else None)
        return self.renders.rendered(message, self.recent[-1].message if self.recent else None)

    async def _run(self) -> None:
        try:
            await self._follow()
        except Exception:
            log.exception("room=%s feed failed; its %d viewers reconnect to a new one", self.room, len(self.viewers))
            for outbox in self.viewers:
                outbox.drop()
            raise

    async def _follow(self) -> None:
        async with self.bus.subscribe(self.room) as events:
            # Subscribed first: anything committed from here on reaches us as an event.
            await self._retry(self._load_recent)
            self.ready.set()
            catching_up = asyncio.create_task(self._catch_up_when_behind())
            try:
                async for event in events:
                    self._on_event(event)
            finally:
                catching_up.cancel()

    def _on_event(self, event: BusEvent) -> None:
        if event.type == "message":
            if event.message is not None:
                self.receive(event.message)
            elif event.seq > self.last_seq:
                self._behind.set()  # sent by reference: read it from the store
            return
        if event.type == "resync":
            self._behind.set()
        if self.on_signal is not None:
            self.on_signal(event)

    async def _load_recent(self) -> None:
        # One more than is kept: the oldest kept message needs the one before it for its group.
        latest = await self.store.latest(self.room, (self.recent.maxlen or 1) + 1)
        self.recent.extend(self.renders.run(latest))
        self.last_seq = latest[-1].seq if latest else 0
        # Changes may follow the last message in the log: read past it (the messages shown are current already).
        self._behind.set()

    async def _catch_up_when_behind(self) -> None:
        while True:
            await self._behind.wait()
            self._behind.clear()
            await self._retry(self._catch_up)

    async def _catch_up(self) -> None:
        metrics.FEED_CATCH_UPS.inc()
        while True:
            with metrics.STORE_CATCH_UP.time():
                missing = await self.store.log_after(self.room, self.last_seq, CATCH_UP_PAGE)
            for message in missing:
                if message.seq == self.last_seq + 1:
                    self._deliver(self._rendered(message))
                    metrics.FEED_CAUGHT_UP.inc()
            if len(missing) < CATCH_UP_PAGE:
                return

    async def _retry(self, work: Callable[[], Awaitable[None]]) -> None:
        delay = 0.1
        while True:
            try:
                await work()
                return
            except StoreUnavailable as exc:
                log.warning("room=%s store unavailable, retrying in %.1fs: %s", self.room, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
