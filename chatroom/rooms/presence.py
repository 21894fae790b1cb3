"""Who is in each room: this process's connections, published as leases in the store that every process reads.

A person is a session: one entry however many tabs or processes they are connected through.
Connections without a session (bots, the JSON protocol) are not people and are not listed.
The process writes what changed in batches (a flood of joins and leaves is one write), renews
all its leases with one statement every third of the lease, and expires the leases of processes
that died; every change is announced on the room's bus channel, and each process re-reads the
room's members (coalesced) and sends the list to the viewers whose list differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from chatroom.bus import Bus
from chatroom.errors import StoreUnavailable
from chatroom.identity import Person
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.render import MEMBERS_SHOWN, Fragments
from chatroom.rooms.throttle import SharedRead, Throttle
from chatroom.store import Member, MessageStore, now_us

log = logging.getLogger(__name__)

MEMBERS_REFRESH_SECONDS = 0.2  # a burst of arrivals becomes one members frame per this interval
# ... in a room of up to this many viewers; a bigger room's list goes out proportionally less often (up to
# MEMBERS_REFRESH_MAX), so re-sending it costs about the same per second however many are in the room.
MEMBERS_REFRESH_VIEWERS = 100
MEMBERS_REFRESH_MAX = 2.0


@dataclass(frozen=True, slots=True)
class Signal:
    """A frame that is not a message: members, typing, the room list (`seq` 0, nothing for JSON clients)."""

    html: str
    seq: int = 0
    json: str | None = None


class Viewer:
    """A person's connection to a room, and what they were last sent, so unchanged lists are not re-sent."""

    __slots__ = ("members", "members_html", "rooms_html", "typing_html", "uid")

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.members = 0  # how many people they were shown in the room
        self.members_html = ""
        self.rooms_html = ""
        self.typing_html = ""


class Presence:
    def __init__(self, store: MessageStore, bus: Bus, fragments: Fragments, lease_seconds: float) -> None:
        self.store = store
        self.bus = bus
        self.fragments = fragments
        self.lease = lease_seconds
        self.process = secrets.token_hex(8)  # a restarted process holds none of its old leases
        self.viewers: dict[str, dict[Outbox, Viewer]] = {}  # room -> its people's connections here
        self.on_change: Callable[[], None] = lambda: None  # people online changed somewhere
        self._connections: dict[tuple[str, str], int] = {}  # (room, uid) -> connections here
        self._names: dict[tuple[str, str], str] = {}  # (room, uid) -> name: the leases we want
        self._written: dict[tuple[str, str], str] = {}  # the leases the store holds for us
        self._changed: set[tuple[str, str]] = set()  # the keys of either that may differ since the last write
        self._seen: dict[tuple[str, str], int] = {}  # (uid, room) -> seq to record as read
        self._members: dict[str, list[Member]] = {}  # room -> its people, as last read
        self._uids: tuple[list[Member] | None, set[str]] = (None, set())  # see `_holds`
        self._refresh: dict[str, Throttle] = {}
        # Rooms nobody here is a person in are not kept current: their people are read when asked, at
        # most once per refresh interval (a connect storm of bots or a burst of page loads is one read).
        self._read_members: SharedRead[str, list[Member]] = SharedRead(
            MEMBERS_REFRESH_SECONDS, lambda room: self.store.members(room, now_us())
        )
        # The first arrivals in a room here read its people afresh, and a storm of them shares the read under
        # way: whatever changes after it started is sent to all of them with the next refresh.
        self._read_members_now: SharedRead[str, list[Member]] = SharedRead(
            0.0, lambda room: self.store.members(room, now_us())
        )
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._lease_loop())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *(t.stop() for t in self._refresh.values()), return_exceptions=True)
        with contextlib.suppress(StoreUnavailable):
            await self._flush()
            for room in await self.store.forget(self.process):
                await self._announce(room, refresh=False)

    async def arrive(self, room: str, person: Person, outbox: Outbox) -> Viewer:
        """A person's connection joined the room; their viewer starts with the members list they will be sent."""
        self.start()
        key = (room, person.uid)
        self._connections[key] = self._connections.get(key, 0) + 1
        self._names[key] = person.name
        self._changed.add(key)
        self._dirty.set()
        viewer = Viewer(person.uid)
        self.viewers.setdefault(room, {})[outbox] = viewer
        members = await self.members(room, fresh=True)  # what they see changes from here on
        more = 0
        if not self._holds(members, person.uid):  # the store has not heard of them yet
            if len(members) < MEMBERS_SHOWN:
                members = sorted([*members, Member(person.uid, person.name)], key=_order)
            else:  # counted at once, named in their place with the next refresh: a storm of arrivals into a
                # big room shares one rendering of the list instead of one each
                more = 1
        viewer.members = len(members) + more
        viewer.members_html = self.fragments.members(members, oob=True, more=more)
        return viewer

    def _holds(self, members: list[Member], uid: str) -> bool:
        """Whether `uid` is among `members`: the uids of the list last asked about are kept, so a storm of arrivals
        into a room (all asking about its one list between two refreshes) is not a walk of it for each."""
        asked, uids = self._uids
        if asked is not members:
            uids = {m.uid for m in members}
            self._uids = (members, uids)
        return uid in uids

    def leave(self, room: str, uid: str, outbox: Outbox, seen_seq: int) -> None:
        key = (room, uid)
        remaining = self._connections.get(key, 0) - 1
        if remaining > 0:
            self._connections[key] = remaining
        else:
            self._connections.pop(key, None)
            self._names.pop(key, None)
            self._changed.add(key)
        self._seen[(uid, room)] = max(seen_seq, self._seen.get((uid, room), 0))
        room_viewers = self.viewers.get(room, {})
        room_viewers.pop(outbox, None)
        if not room_viewers:
            self.viewers.pop(room, None)
            self._members.pop(room, None)
            throttle = self._refresh.pop(room, None)
            if throttle is not None:
                asyncio.get_running_loop().create_task(throttle.stop())
        self._dirty.set()

    async def rename(self, uid: str, name: str) -> None:
        """A person chose a new name: every room they are in, in any process, shows it."""
        for key in self._names:
            if key[1] == uid:
                self._names[key] = name
                self._changed.add(key)
        self._dirty.set()
        for room in await self.store.rename(uid, name):
            await self._announce(room)

    async def holders(self, room: str) -> list[Member]:
        """Everyone present in the room now: the store's leases, and the people here it has not been told of yet."""
        present = {m.uid: m for m in await self.store.members(room, now_us())}
        present.update((uid, Member(uid, name)) for uid, name in self._here(room).items())
        return list(present.values())

    def _here(self, room: str) -> dict[str, str]:
        """The people connected to `room` in this process, uid -> name: ones the store may not list yet."""
        names = self._names
        return {v.uid: names[(room, v.uid)] for v in self.viewers.get(room, {}).values() if (room, v.uid) in names}

    async def rooms_of(self, uid: str) -> list[str]:
        """The rooms where the person is present now, here or in any process."""
        rooms = await self.store.present_rooms(uid, now_us())
        return sorted({*rooms, *(r for r, u in self._names if u == uid)})

    async def members(self, room: str, fresh: bool = False) -> list[Member]:
        """The room's people: kept current while a person watches it here, else read now if `fresh`, else shared."""
        members = self._members.get(room)
        if members is None:
            try:
                members = await (self._read_members_now if fresh else self._read_members)(room)
            except StoreUnavailable:
                return []
            if room in self.viewers:  # a list re-read meanwhile (`_send_members`) is newer than this one
                members = self._members.setdefault(room, members)
        return members

    def refresh(self, room: str) -> None:
        """The room's people changed (said the bus): re-read them, soon, once however often this is called."""
        if room not in self.viewers:
            return
        throttle = self._refresh.get(room)
        if throttle is None:
            throttle = self._refresh[room] = Throttle(MEMBERS_REFRESH_SECONDS, lambda: self._send_members(room))
        throttle.interval = refresh_interval(len(self.viewers[room]))
        throttle()

    async def _send_members(self, room: str) -> None:
        members = await self.store.members(room, now_us())
        if room not in self.viewers:
            return
        members = self._with_arrivals(room, members)
        self._members[room] = members
        html = self.fragments.members(members, oob=True)
        for outbox, viewer in self.viewers[room].items():
            # One still arriving (no list yet) starts from this list, kept above: sent now, it would follow
            # their first frame, to say the same.
            if viewer.members_html and viewer.members_html != html:
                viewer.members = len(members)
                viewer.members_html = html
                outbox.offer(Signal(html))

    def _with_arrivals(self, room: str, members: list[Member]) -> list[Member]:
        """The store's list with the people connected here whose lease has not been written yet: a list read
        while someone arrives would otherwise be sent to them without themselves, until the next refresh."""
        listed = {m.uid for m in members}
        arrived = [Member(uid, name) for uid, name in self._here(room).items() if uid not in listed]
        return sorted([*members, *arrived], key=_order) if arrived else members

    async def _write_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                rooms = await self._flush()
            except StoreUnavailable as exc:
                log.warning("presence not written, retrying: %s", exc)
                await asyncio.sleep(1.0)
                self._dirty.set()
                continue
            for room in rooms:
                await self._announce(room)

    async def _flush(self) -> set[str]:
        """Write the leases that changed since the last write; the rooms whose people changed. Only the keys
        marked changed are compared: a storm of arrivals is not a walk over everyone here at every write."""
        changed, self._changed = self._changed, set()
        names, written, keys = self._names, self._written, sorted(changed)  # in one order, whatever the arrivals'
        entering = [
            (r, uid, names[r, uid]) for r, uid in keys if (r, uid) in names and written.get((r, uid)) != names[r, uid]
        ]
        leaving = [key for key in keys if key not in names and key in written]
        seen, self._seen = self._seen, {}
        try:
            if entering:
                await self.store.enter(self.process, entering, now_us() + int(self.lease * 1_000_000))
            if leaving:
                await self.store.leave(self.process, leaving)
            if seen:
                await self.store.mark_read([(uid, room, seq) for (uid, room), seq in seen.items()], now_us())
        except StoreUnavailable:
            self._changed |= changed
            for key, seq in seen.items():
                self._seen[key] = max(seq, self._seen.get(key, 0))
            raise
        for room, uid, name in entering:
            self._written[(room, uid)] = name
        for key in leaving:
            self._written.pop(key, None)
        return {room for room, _, _ in entering} | {room for room, _ in leaving}

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                held = await self.store.renew(self.process, now_us() + int(self.lease * 1_000_000))
                if held < len(self._written):  # another process expired ours (we stalled): write them again
                    self._written.clear()
                    self._changed.update(self._names)
                    self._dirty.set()
                for room in await self.store.expire(now_us()):
                    await self._announce(room)
            except StoreUnavailable as exc:
                log.warning("presence leases not renewed: %s", exc)

    async def _announce(self, room: str, refresh: bool = True) -> None:
        try:
            await self.bus.publish_members(room)
        except Exception as exc:  # the bus is down: at least this process's viewers see it
            log.warning("presence not announced room=%s: %r", room, exc)
            if refresh:
                self.refresh(room)
        self.on_change()


def refresh_interval(viewers: int) -> float:
    """How often a room of `viewers` connections here is sent its changed list of people, at most."""
    return min(MEMBERS_REFRESH_MAX, MEMBERS_REFRESH_SECONDS * max(1.0, viewers / MEMBERS_REFRESH_VIEWERS))


def _order(member: Member) -> tuple[str, str, str]:
    return (member.name.lower(), member.name, member.uid)
