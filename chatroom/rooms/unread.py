"""Unread counts of signed-in people: per account and room, the same in every tab, device and process.

The store keeps each account's place in the rooms it opened and who each message mentions
(`MessageStore.readings`). A person's counts are read from it when their first connection here starts
(and the page reads them too), and again after the bus resynced; from then on they are kept in memory
from the rooms' feeds, which this process holds while someone here counts the room. A new message adds
one to each person here who counts its room: no query, so a message in a room of 5,000 people costs
5,000 additions, not 5,000 reads. Mentions of a message are parsed once per process from its text,
the same way the store parsed them.

What a person read (a room opened or left, a message shown to them live) is written and announced
together, at most every `FLUSH_SECONDS` (`Bus.publish_reads`), so their other tabs, devices and
processes clear it; their room lists and titles are re-sent at most every `SEND_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chatroom.bus import Bus, BusEvent
from chatroom.errors import StoreUnavailable
from chatroom.mentions import mention_key, mentioned
from chatroom.rooms.counts import CAP, Count, badges, counts_of, total
from chatroom.rooms.directory import Listing
from chatroom.rooms.feeds import Feeds
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.render import Badge, Fragments, Kept
from chatroom.rooms.throttle import Batched, Throttle
from chatroom.store import NOTIFY_ALL, Message, MessageStore, Reading, now_us

log = logging.getLogger(__name__)

TRACKED = 50  # a person's rooms counted: the ones they opened most recently
READINGS_BATCH = 100  # people whose counts are read in one go, at most (a storm of arrivals: a few of them)
SEND_SECONDS = 0.25
FLUSH_SECONDS = 1.0
RELOADS_AT_ONCE = 4
RENDERED_KEPT = 4096  # distinct lists kept for one listing (counts change while the list of rooms stays)


@dataclass(eq=False, slots=True)
class Reader:
    """A signed-in person connected to this process: their counts, and their connections by room."""

    account: str
    key: str  # their name as mentions are stored (`chatroom.mentions.mention_key`)
    counts: dict[str, Count] = field(default_factory=dict)
    outboxes: dict[Outbox, str] = field(default_factory=dict)
    titles: dict[Outbox, str] = field(default_factory=dict)  # what a connection's tab calls its room, if not #room
    # Set when their counts are loaded, then dropped: an Event is 0.7 KB, kept by each person for as long as connected.
    loading: asyncio.Event | None = field(default_factory=asyncio.Event)

    def reading(self, room: str) -> bool:
        return room in self.outboxes.values()


class Unread:
    def __init__(self, store: MessageStore, bus: Bus, feeds: Feeds, fragments: Fragments) -> None:
        self.store = store
        self.bus = bus
        self.feeds = feeds
        self.fragments = fragments
        self.process = secrets.token_hex(8)  # its own reads come back from the bus: not applied twice
        self.readers: dict[str, Reader] = {}  # account -> reader
        self.counting: dict[str, set[str]] = {}  # room -> the accounts here that count it
        self.by_outbox: dict[Outbox, Reader] = {}
        self.listing: Callable[[], Awaitable[Listing]] | None = None  # the public room list (the directory's)
        self.send: Callable[[Outbox, str, Listing], None] = lambda outbox, room, listing: None  # (re-)send a list
        self._pending: dict[tuple[str, str], tuple[int, str]] = {}  # (account, room) -> (seq, notify) to write
        self._dirty: set[Reader] = set()
        self._flush = Throttle(FLUSH_SECONDS, self._write)
        self._sender = Throttle(SEND_SECONDS, self._send)
        self._task: asyncio.Task[None] | None = None
        self._holding: set[asyncio.Task[None]] = set()
        self._reloads = asyncio.Semaphore(RELOADS_AT_ONCE)
        self._readings: Batched[tuple[str, str], list[Reading]] = Batched(
            lambda people: self.store.readings_of(people, TRACKED, CAP), READINGS_BATCH
        )
        # The lists and titles rendered for the listing last sent: people with the same badges see the same bytes.
        self._rendered: tuple[Listing | None, Kept] = (None, Kept(RENDERED_KEPT))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._sender.stop()
        await self._flush.stop()
        if self._pending:
            try:
                await self._write()
            except StoreUnavailable as exc:
                log.warning("reads not written at shutdown: %s", exc)

    async def readings(self, account: str, name: str) -> dict[str, Count]:
        """A person's counts, from the store (a page load), with what this process knows they read and has
        not written yet."""
        counts = counts_of(await self.store.readings(account, mention_key(name), TRACKED, CAP))
        reader = self.readers.get(account)
        for room, count in counts.items():
            known = reader.counts.get(room) if reader is not None else None
            if known is not None and known.seq > count.seq:
                counts[room] = Count(known.seq, known.last, known.unread, known.mentions, count.notify)
            seen, _ = self._pending.get((account, room), (0, ""))
            if seen >= counts[room].last:
                counts[room].read(seen)
        return counts

    async def arrive(self, room: str, account: str, name: str, outbox: Outbox, seq: int, title: str = "") -> None:
        """A person's connection to `room` started at `seq`: the room is read, everywhere. `title` is what the
        tab calls the room when it is not `#room` (a private room's title, the other person of a direct one)."""
        self._start()
        while True:
            reader = self.readers.get(account)
            if reader is None:
                reader = self.readers[account] = Reader(account, mention_key(name))
                try:
                    await self._load(reader)
                finally:
                    loading, reader.loading = reader.loading, None
                    if loading is not None:
                        loading.set()
            elif reader.loading is not None:
                await reader.loading.wait()
            if self.readers.get(account) is reader:  # not left meanwhile by their last other connection
                break
        reader.outboxes[outbox] = room
        if title:
            reader.titles[outbox] = title
        self.by_outbox[outbox] = reader
        self.opened(account, room, seq, arriving=outbox)

    def leave(self, room: str, account: str, outbox: Outbox, seq: int) -> None:
        reader = self.readers.get(account)
        if reader is None or reader.outboxes.pop(outbox, None) is None:
            return
        reader.titles.pop(outbox, None)
        self.by_outbox.pop(outbox, None)
        self.opened(account, room, seq)
        if not reader.outboxes:
            del self.readers[account]
            self._dirty.discard(reader)
            for counted in [room for room, accounts in self.counting.items() if account in accounts]:
                self._uncount(counted, account)

    def opened(self, account: str, room: str, seq: int, arriving: Outbox | None = None) -> None:
        """The account read `room` up to `seq` (a page, a connection): written and announced with the next flush.

        Their other connections here (not the `arriving` one, which starts from its own list) show it at once."""
        self._start()
        reader = self.readers.get(account)
        if reader is not None:
            count = reader.counts.get(room)
            changed = count is None or count.unread > 0 or count.mentions > 0
            if count is None:
                reader.counts[room] = Count(seq, seq)
                self._count(room, account)
            else:
                count.read(seq)
            if changed and any(other is not arriving for other in reader.outboxes):
                self._dirty.add(reader)
                self._sender()
        seen, notify = self._pending.get((account, room), (0, ""))
        self._pending[(account, room)] = (max(seen, seq), notify)
        self._flush()

    def joined(self, account: str) -> None:
        """The account was made a member of a private room: its counts here are read again, that room's with them."""
        reader = self.readers.get(account)
        if reader is not None:
            self._reload_soon(reader)

    def active(self, room: str, account: str) -> None:
        """A direct conversation of the account has a new message: counted from now on, if it was not yet."""
        reader = self.readers.get(account)
        if reader is not None and room not in reader.counts:
            self._reload_soon(reader)

    def removed(self, room: str, account: str) -> None:
        """The account is no longer a member of private `room`: it counts there no more, in any of its tabs here."""
        reader = self.readers.get(account)
        if reader is None or reader.counts.pop(room, None) is None:
            return
        self._uncount(room, account)
        self._dirty.add(reader)
        self._sender()

    async def choose(self, account: str, room: str, notify: str) -> None:
        """The account's choice of what counts in `room`: stored now, announced with the next flush."""
        await self.store.set_notify(account, room, notify, now_us())
        self._start()
        self._notified(account, room, notify)
        seen, _ = self._pending.get((account, room), (0, ""))
        self._pending[(account, room)] = (seen, notify)
        self._flush()

    def message(self, message: Message) -> None:
        """A new message of a room's feed here: one more for each person here who counts the room."""
        accounts = self.counting.get(message.room)
        if not accounts:
            return
        names: tuple[str, ...] | None = None
        for account in accounts:
            reader = self.readers.get(account)
            count = reader.counts.get(message.room) if reader is not None else None
            if reader is None or count is None or message.seq <= count.last:  # counted already (by the store's read)
                continue
            count.last = message.seq
            if reader.reading(message.room) or message.author_id == account:
                count.read(message.seq)  # shown to them now, or their own from another device
                _, notify = self._pending.get((account, message.room), (0, ""))
                self._pending[(account, message.room)] = (message.seq, notify)
                self._flush()
                continue
            if names is None:
                names = mentioned(message.text)
            count.unread += 1
            count.mentions += reader.key in names
            self._dirty.add(reader)
        if self._dirty:
            self._sender()

    def badges(self, outbox: Outbox) -> tuple[dict[str, Badge], int] | None:
        """The badges of a connection's person (none for the room it shows) and its title's count; None for a
        connection that is not a signed-in person's."""
        reader = self.by_outbox.get(outbox)
        if reader is None:
            return None
        room = reader.outboxes[outbox]
        return badges(reader.counts, room), total(reader.counts, room)

    def render(self, outbox: Outbox, room: str, listing: Listing) -> str | None:
        """The room list and title a signed-in person's connection shows; None for anyone else."""
        found = self.badges(outbox)
        if found is None:
            return None
        marks, count = found
        label = self.by_outbox[outbox].titles.get(outbox, "")
        shown, rendered = self._rendered
        if shown is not listing:  # each distinct list rendered once per listing
            self._rendered = shown, rendered = listing, Kept(RENDERED_KEPT)
        rooms, online = listing

        def render() -> str:
            title = self.fragments.title(room, count, oob=True, label=label)
            return self.fragments.personal_room_list(rooms, online, room, marks, oob=True) + title

        return rendered.get((room, count, label, *sorted(marks.items())), render)

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _load(self, reader: Reader) -> None:
        try:
            reader.counts = await self._read(reader)
        except StoreUnavailable as exc:
            log.warning("unread counts not read account=%s: %s", reader.account, exc)
        for room in reader.counts:
            self._count(room, reader.account)  # a room new since the first read is held from here

    async def _read(self, reader: Reader) -> dict[str, Count]:
        """Their counts from the store, once the feeds of their rooms are held here: a message the read does not
        count arrives from a feed. A room whose feed was not live yet is read twice."""
        first = await self._readings((reader.account, reader.key))
        unheld = [r.room for r in first if not self.counting.get(r.room)]
        unready = [r.room for r in first if not self._live(r.room)]
        for reading in first:
            self._count(reading.room, reader.account, hold=False)
        await asyncio.gather(*(self._hold(room) for room in unheld))
        if unready:  # what their feeds delivered before they were ready here is in a second read
            first = await self._readings((reader.account, reader.key))
        return counts_of(first)

    def _live(self, room: str) -> bool:
        """Whether the room's feed here delivers every message from now on (a connect storm's later arrivals
        read their counts once)."""
        feed = self.feeds.get(room)
        return feed is not None and feed.alive and feed.ready.is_set()

    async def _reload(self, reader: Reader) -> None:
        try:
            async with self._reloads:  # after a resync, every person here: a few reads at a time, not all at once
                fresh = await self._read(reader)
        except StoreUnavailable as exc:
            log.warning("unread counts not re-read account=%s: %s", reader.account, exc)
            return
        if self.readers.get(reader.account) is None:  # their last connection left meanwhile
            for room in fresh:
                self._uncount(room, reader.account)
            return
        for room, count in fresh.items():
            known = reader.counts.get(room)
            if known is not None and known.last > count.last:  # a feed counted past the read meanwhile
                known.notify = count.notify
                continue
            reader.counts[room] = count
            self._count(room, reader.account)
        self._dirty.add(reader)
        self._sender()

    def _count(self, room: str, account: str, hold: bool = True) -> None:
        accounts = self.counting.setdefault(room, set())
        if not accounts and hold:
            task = asyncio.get_running_loop().create_task(self._hold(room))
            self._holding.add(task)
            task.add_done_callback(self._holding.discard)
        accounts.add(account)

    def _uncount(self, room: str, account: str) -> None:
        accounts = self.counting.get(room)
        if accounts is None:
            return
        accounts.discard(account)
        if not accounts:
            del self.counting[room]
            self.feeds.release(room)

    async def _hold(self, room: str) -> None:
        try:
            await self.feeds.hold(room)
        except Exception as exc:  # counted from the store at the person's next connection
            log.warning("room=%s not followed for unread counts: %r", room, exc)
        if room not in self.counting:  # nobody counts it any more
            self.feeds.release(room)

    def _notified(self, account: str, room: str, notify: str) -> None:
        reader = self.readers.get(account)
        if reader is None:
            return
        count = reader.counts.get(room)
        if count is None:
            return
        count.notify = notify
        self._dirty.add(reader)
        self._sender()

    async def _write(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        reads = [(account, room, seq) for (account, room), (seq, _) in pending.items() if seq]
        try:
            if reads:
                await self.store.mark_rooms_read(reads, now_us())
        except StoreUnavailable:
            for key, value in pending.items():
                self._pending.setdefault(key, value)
            raise
        try:
            await self.bus.publish_reads(
                [(account, room, seq, notify) for (account, room), (seq, notify) in pending.items()], self.process
            )
        except Exception as exc:  # written: other processes see it at their people's next connection
            log.warning("reads not announced: %r", exc)

    async def _follow(self) -> None:
        while True:
            try:
                async with self.bus.subscribe_reads() as events:
                    async for event in events:
                        self._on_event(event)
            except Exception as exc:
                log.warning("unread counts not following the bus, retrying: %r", exc)
            await asyncio.sleep(1.0)

    def _on_event(self, event: BusEvent) -> None:
        if event.type == "resync":  # reads may have been lost meanwhile
            for each in list(self.readers.values()):
                self._reload_soon(each)
            return
        if event.type != "reads" or event.name == self.process:
            return
        for account, room, seq, notify in event.reads:
            reader = self.readers.get(account)
            if reader is None:
                continue
            count = reader.counts.get(room)
            if count is None:
                reader.counts[room] = Count(seq, seq, notify=notify or NOTIFY_ALL)
                self._count(room, account)
            else:
                if notify:
                    count.notify = notify
                if seq >= count.last:
                    count.read(seq)
                elif seq > count.seq:  # they read part of what is counted here: the store says how much is left
                    self._reload_soon(reader)
                    continue
            self._dirty.add(reader)
        self._sender()

    def _reload_soon(self, reader: Reader) -> None:
        task = asyncio.get_running_loop().create_task(self._reload(reader))
        self._holding.add(task)
        task.add_done_callback(self._holding.discard)

    async def _send(self) -> None:
        dirty, self._dirty = self._dirty, set()
        if not dirty or self.listing is None:
            return
        try:
            listing = await self.listing()
        except StoreUnavailable:
            self._dirty |= dirty
            raise
        for reader in dirty:
            for outbox, room in list(reader.outboxes.items()):
                self.send(outbox, room, listing)
