"""The door between the doors (pages, forms, the three transports) and the store and bus behind it.

web/ and transports/ reach the store and the bus only through a `Hub`: it posts messages, starts
connections (their snapshot or replay, and the floor below which nothing is sent twice), and reads
what a page shows. Behind it, each room has a feed per process, and the process keeps who is here,
who types and the room list.

What a visitor can make it do is limited per person and per client `address` (`AddressLimits`);
an `address` of None is a caller that is not on the network, limited by person only.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from chatroom import metrics
from chatroom.bus import Bus, BusEvent
from chatroom.errors import Forbidden, NotFound, NotStored, RateLimited, Refused, StoreUnavailable
from chatroom.files.uploads import Uploads
from chatroom.identity import ACCOUNT, Person, guest
from chatroom.names import first_clash, refuse_if_held
from chatroom.rooms.access import PRIVATE, Access, is_private
from chatroom.rooms.conversation_list import ConversationLists
from chatroom.rooms.counts import badges, total
from chatroom.rooms.directory import RoomDirectory
from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.feeds import Feeds
from chatroom.rooms.finder import Finder, SearchResults
from chatroom.rooms.health import Health, HealthCheck
from chatroom.rooms.history import History
from chatroom.rooms.limits import AddressLimits, Slot
from chatroom.rooms.outbox import Outbox, Turn
from chatroom.rooms.presence import MEMBERS_REFRESH_SECONDS, Presence
from chatroom.rooms.private import PrivateRooms, title_of
from chatroom.rooms.ratelimit import RateLimiter
from chatroom.rooms.render import Badge, Fragments, RenderedMessage
from chatroom.rooms.render_cache import RenderCache
from chatroom.rooms.retention import Retention
from chatroom.rooms.starts import Start, start
from chatroom.rooms.throttle import SharedRead
from chatroom.rooms.typing import TypingIndicator, Typists
from chatroom.rooms.unread import Unread
from chatroom.settings import Settings
from chatroom.store import (
    NOTIFY_ALL,
    NOTIFY_LEVELS,
    Attachment,
    MessageStore,
    RoomActivity,
    RoomInfo,
    now_us,
)
from chatroom.store import Message as Message  # what the doors are given back
from chatroom.store import PrivateRoom as PrivateRoom
from chatroom.store import Quote as Quote
from chatroom.store.search import SearchQuery
from chatroom.store.sql import MIGRATIONS
from chatroom.time_zones import UTC, time_zone, zone_or_utc
from chatroom.validation import MAX_REACTIONS, emoji, message_text, reply_id, send_nonce

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RoomView:
    """Everything a room page shows besides the form: its messages, its people and the room list."""

    items: str  # the messages' rendered items, oldest first
    first_seq: int  # the first one's `seq` (1 when there are none): "load older" starts below it
    room_list: str
    seen: dict[str, int]  # room -> the last `seq` the person saw there, for unread marks
    members: str  # the list of people here, rendered
    typists: Typists = field(default_factory=lambda: Typists([]))
    unread_total: int = 0  # a signed-in person's unread messages in their other rooms, for the title
    new_from: int = 0  # the first message they had not read here (the "new messages" line), or 0
    notify: str = ""  # what counts as unread here for a signed-in person ("" for a guest)
    badges: Mapping[str, Badge] = field(default_factory=dict)  # a signed-in person's, by room (private ones too)


BROWSE_PAGE = 30  # rooms on a "browse rooms" page
BROWSE_PAGES = 100  # pages of it: the 3,000 most recently active rooms (OFFSET costs grow with the page)


@dataclass(frozen=True, slots=True)
class BrowsePage:
    rooms: list[RoomActivity]
    online: dict[str, int]
    page: int
    more: bool


class NameHolders(Protocol):
    async def claim(self, person: Person, name: str) -> None:
        """Refused (`name_taken`) when an account other than `person`'s holds `name` or a look-alike."""


class Hub:
    def __init__(
        self, store: MessageStore, bus: Bus, fragments: Fragments, settings: Settings, names: NameHolders
    ) -> None:
        self.store = store
        self.names = names  # the accounts: they hold their names in every room
        self.bus = bus
        self.fragments = fragments
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.limits = AddressLimits(settings)
        self.renders = RenderCache(fragments)
        self.turn = Turn()  # the sockets' writes at the end of each turn of the loop
        self.history = History(store, self.renders, settings.history_limit)
        self.presence = Presence(store, bus, fragments, settings.presence_lease)
        self.typing = TypingIndicator(bus, fragments, self.presence)
        self.feeds = Feeds(store, bus, self.renders, settings.history_limit, self._on_signal, self._on_message)
        self.directory = RoomDirectory(store, bus, fragments, self.presence)
        self.unread = Unread(store, bus, self.feeds, fragments)
        self.unread.listing = self.directory.current
        self.unread.send = self._send_list
        self.directory.personal = self.unread.render
        self.presence.on_change = self.directory.touch
        self.retention = Retention(store, settings.retention_days)
        self.retention.on_rooms_removed = self.directory.touch
        self.retention.on_deleted = self._announce
        self._people_for_guests = SharedRead(MEMBERS_REFRESH_SECONDS, self._render_people_for_guests)
        self._health = HealthCheck(store, bus)
        self._epoch: str | None = None
        self.access = Access(store, bus)
        self.lists = ConversationLists(store, fragments.env, self.unread.badges)
        self.access.on_added = self._member_added
        self.access.on_removed = self.unread.removed
        self.access.on_active = self._conversation_active
        self.private = PrivateRooms(store, self.access, lambda: self.limits)
        self.finder = Finder(store, self.access)
        self.uploads = Uploads(settings)

    def start(self) -> None:
        """Start what runs whether or not anyone is connected: forgetting what the store need not keep."""
        self.retention.start()
        self.access.start()

    async def close(self) -> None:
        await self.access.close()
        await self.lists.close()
        await self.retention.close()
        await self.unread.close()
        await self.directory.close()
        self.typing.close()
        await self.presence.close()
        await self.feeds.close()

    @property
    def viewer_count(self) -> int:
        return self.feeds.viewer_count

    async def post(
        self,
        room: str,
        person: Person,
        raw_text: object,
        sender: str,
        address: str | None = None,
        nonce: object = None,
        reply_to: object = None,
    ) -> Message | None:
        """Validate, store, then announce a message. None when there was nothing to send.

        Limited per `sender` and per client `address` (None: not from the network). With the `nonce` the
        sender's form carried, a send retried (a double submit, htmx's queue after an outage) is stored once:
        the retry is answered as the first was. With `reply_to` (a message id of `room`), the message is a reply
        to that message, which must be there, readable by `person` and not deleted. Raises Refused (the sender's
        fault: RateLimited among them) or NotStored (nothing was stored).
        """
        arrived = time.perf_counter()
        await self.readable(person, room)
        text = message_text(raw_text, self.settings.max_message_length)
        if text is None:
            return None
        answered = reply_id(reply_to)
        once = send_nonce(nonce, f"{text}\0reply:{answered}" if answered else text)
        self._allow(sender, address)
        if answered:
            await self.repliable(room, person, answered)
        if not person.signed_in:  # a guest's chosen name may have become an account's since (kept a while per process)
            await self.names.claim(person, person.name)
        appending = time.perf_counter()
        try:
            message = await self.store.append(room, person.name, person.uid, text, once, reply_to=answered)
        except StoreUnavailable as exc:
            log.error("store failed room=%s who=%s sender=%s: %s", room, person.name, sender, exc)
            raise NotStored(str(exc)) from exc
        metrics.STORE_APPEND.observe(time.perf_counter() - appending)
        metrics.MESSAGES_STORED.inc()
        self.directory.touch()  # throttled: at most one "rooms" event a second, whatever the message rate
        await self._announce(message)
        metrics.SEND_SECONDS.observe(time.perf_counter() - arrived)
        return message

    async def edit(
        self, room: str, person: Person, id: int, raw_text: object, sender: str, address: str | None = None
    ) -> Message:
        """A new text for a person's own message, announced to everyone as the log's next entry."""
        text = message_text(raw_text, self.settings.max_message_length)
        if text is None:
            raise Refused("empty_message", "A message cannot be empty: delete it instead.")
        await self.readable(person, room)
        await self._own_or_moderated(room, person, id, moderators=False)
        self._allow(sender, address)
        return await self._changed(room, id, await self._stored(self.store.edit(room, id, person.uid, text)))

    async def delete(self, room: str, person: Person, id: int, sender: str, address: str | None = None) -> Message:
        """Delete a message (the author's own, or anyone's by a moderator or admin): its text leaves the store."""
        await self.readable(person, room)
        message = await self._own_or_moderated(room, person, id, moderators=True)
        self._allow(sender, address)
        entry = await self._changed(room, id, await self._stored(self.store.delete(room, id)))
        if message.author_id != person.uid:
            await self.moderated(person, "delete", f"{room}#{id}", f"a message of {message.author}")
        return entry

    async def react(
        self, room: str, person: Person, id: int, raw_emoji: object, sender: str, address: str | None = None
    ) -> Message:
        """Add the person's emoji under a message, or take it back."""
        await self.readable(person, room)
        chosen = emoji(raw_emoji)
        self._allow(sender, address)
        entry = await self._stored(self.store.react(room, id, person.uid, chosen, MAX_REACTIONS))
        if entry is None:
            current = await self._stored(self.store.message(room, id))
            if current is None or current.deleted:
                raise NotFound("There is no such message.")
            raise Refused("too_many_reactions", f"A message can have at most {MAX_REACTIONS} different reactions.")
        return await self._changed(room, id, entry)

    async def repliable(self, room: str, person: Person, id: int, address: str | None = None) -> Message:
        """Message `id` of `room`, which `person` may reply to (it is there, they may read it, it is not deleted);
        Refused otherwise, saying which. Asked by a page (an `address`), a read limited as a page of history is."""
        if address is not None:
            self.limits.history_page(address)
        target = await self._stored(self.store.message(room, id)) if await self.access.can_read(person, room) else None
        if target is None:
            raise Refused("reply_not_found", "There is no such message in this room to reply to.")
        if target.deleted:
            raise Refused("reply_deleted", "That message was deleted: there is nothing to reply to.")
        return target

    async def time_zone(self, person: Person) -> str:
        """The time zone an account chose (UTC if none, or one no longer known); a guest's is in their cookie."""
        if not person.signed_in:
            return UTC
        return zone_or_utc(await self._stored(self.store.time_zone(person.uid)))

    async def set_time_zone(self, person: Person, raw: object, address: str | None = None) -> str:
        """`person` reads times in zone `raw` (one of `chatroom.time_zones.names`; Refused otherwise), kept for an
        account in the store. A write limited per client `address` as a page of history is."""
        zone = time_zone(raw)
        if address is not None:
            self.limits.history_page(address)
        if person.signed_in:
            await self._stored(self.store.set_time_zone(person.uid, zone))
        return zone

    async def epoch(self) -> str:
        """The epoch of the store's log (read once): a client's place in another log is no place in this one."""
        if self._epoch is None:
            self._epoch = await self.store.epoch()
        return self._epoch

    async def message(self, room: str, id: int, address: str | None = None) -> Message | None:
        """Message `id` as it is now, for its menu and edit page: a read of the store, limited per client
        `address` as a page of history is."""
        if address is not None:
            self.limits.history_page(address)
        return await self._stored(self.store.message(room, id))

    async def moderated(self, by: Person, action: str, target: str, detail: str) -> None:
        """Record a moderation action: who, what, on whom or what, when."""
        await self._stored(self.store.record_moderation(now_us(), by.name, action, target, detail))
        log.info("moderation by=%s action=%s target=%s", by.uid, action, target)

    async def room_retention(self) -> dict[str, int]:
        """The rooms that keep their messages a number of days of their own."""
        return await self._stored(self.store.room_retention())

    async def set_room_retention(self, by: Person, room: str, days: int | None) -> None:
        await self._stored(self.store.set_room_retention(room, days))
        kept = "as every room" if days is None else ("forever" if days == 0 else f"{days} days")
        await self.moderated(by, "retention", room, f"messages kept {kept}")

    async def moderation_log(self, limit: int = 100) -> list[tuple[int, str, str, str, str]]:
        return await self._stored(self.store.moderation_log(limit))

    async def remove_messages_of(self, by: Person, author_id: str, limit: int) -> int:
        """Delete up to `limit` messages of `author_id` (a ban's "remove their messages"); how many."""
        removed = 0
        for room, id in await self._stored(self.store.messages_of(author_id, limit)):
            entry = await self._stored(self.store.delete(room, id))
            if entry is not None:
                await self._announce(entry)
                removed += 1
        return removed

    def _allow(self, sender: str, address: str | None) -> None:
        """A message or a change, within the sender's rate and their address's."""
        if not self.limiter.allow(sender):
            raise RateLimited
        if address is not None:
            self.limits.message(address)

    async def _own_or_moderated(self, room: str, person: Person, id: int, *, moderators: bool) -> Message:
        message = await self._stored(self.store.message(room, id))
        if message is None or message.deleted:
            raise NotFound("There is no such message.")
        if message.author_id != person.uid and not (moderators and person.may("moderator")):
            raise Forbidden(
                "Only its author can change a message."
                if not moderators
                else "Only its author, a moderator or an administrator can delete a message."
            )
        return message

    async def post_files(
        self,
        room: str,
        person: Person,
        raw_text: object,
        files: Sequence[tuple[str, bytes]],
        sender: str,
        address: str | None = None,
        nonce: object = None,
    ) -> Message:
        """A message with `files` ((name, bytes) as uploaded) and an optional text: checked, limited like a
        message and as an upload, then stored whole (the message and every file, or nothing) and announced.
        With the form's `nonce`, an upload sent again (a double click) is stored once."""
        await self.readable(person, room)
        text = message_text(raw_text, self.settings.max_message_length) or ""
        if not files and not text:
            raise Refused("no_files", "Choose a file to send.")
        once = send_nonce(nonce, text + "".join(f"\0{name}:{len(data)}" for name, data in files))
        self.limits.upload(person.uid, address)
        self._allow(sender, address)
        if not person.signed_in:
            await self.names.claim(person, person.name)
        prepared = await self.uploads.prepare(files)
        try:
            message = await self.store.append(room, person.name, person.uid, text, once, files=prepared)
        except StoreUnavailable as exc:
            log.error("store failed room=%s who=%s sender=%s: %s", room, person.name, sender, exc)
            raise NotStored(str(exc)) from exc
        metrics.MESSAGES_STORED.inc()
        log.info("upload room=%s files=%d bytes=%d", room, len(prepared), sum(f.attachment.size for f in prepared))
        self.directory.touch()
        await self._announce(message)
        return message

    async def file(self, person: Person | None, file_id: str, thumbnail: bool = False) -> tuple[Attachment, bytes]:
        """A file (or its thumbnail) and its bytes, for someone who may read its room; NotFound otherwise,
        the same answer as for a file that does not exist."""
        found = await self._stored(self.store.file(file_id, thumbnail))
        if found is None or (thumbnail and not found[1].is_image) or not await self.access.can_read(person, found[0]):
            raise NotFound("There is no such file, or it was deleted.")
        return found[1], found[2]

    async def _changed(self, room: str, id: int, entry: Message | None) -> Message:
        if entry is None:  # changed meanwhile (deleted by someone else, say)
            raise NotFound("There is no such message.")
        await self._announce(entry)
        return entry

    async def _stored(self, work: Awaitable[T]) -> T:
        """A store call of a change: an outage is NotStored, told to the person who asked."""
        try:
            return await work
        except StoreUnavailable as exc:
            log.error("store failed: %s", exc)
            raise NotStored(str(exc)) from exc

    async def _announce(self, entry: Message) -> None:
        """A stored entry of the log: to this process's viewers at once, to the others by the bus."""
        feed = self.feeds.get(entry.room)
        if feed is not None:
            feed.receive(entry)  # local viewers need not wait for the bus round trip
        if self.bus.shared:  # on memory:// the only feed is the one above (or one that reads the store as it starts)
            try:
                await self.bus.publish_message(entry)
            except Exception as exc:  # stored already: other processes catch up when the bus is back
                log.warning("bus publish failed room=%s seq=%s: %r", entry.room, entry.seq, exc)
        if is_private(entry.room) and not entry.kind:
            await self.access.active(entry.room)

    async def create_room(self, room: str, uid: str | None = None, address: str | None = None) -> None:
        """Create `room` if new. Asked from the network (an `address`), limited per session `uid` and per address."""
        if is_private(room):
            raise Refused("reserved_room", f"Room names starting with {PRIVATE} are kept for private rooms.")
        if address is not None:
            self.limits.room(address, uid)
        await self.store.create_room(room)

    async def readable(self, person: Person | None, room: str) -> None:
        """NotFound unless `person` may read `room`: for anyone else a private room does not exist."""
        if is_private(room) and not await self.access.can_read(person, room):
            raise NotFound("There is no such room.")

    def may_start_session(self, address: str | None) -> bool:
        """Whether a visitor without a session, from `address`, may be given a guest session now."""
        return self.limits.new_session(address)

    def connection_slot(self, address: str | None) -> Slot:
        """Hold one of `address`'s connections until the slot is released. Raises TooManyConnections."""
        return self.limits.connections.take(address)

    def connect(
        self,
        room: str,
        outbox: Outbox,
        person: Person | None = None,
        *,
        resume: int | None = None,
        live: bool = False,
        address: str | None = None,
        shown_from: int | None = None,
        zone: str = UTC,
    ) -> Connection:
        """Receive the room's frames in `outbox` while inside (`async with`); the `Start` says what to send first.

        The connection starts from the snapshot, or with `resume` (the last `seq` the client has)
        from a replay of what it missed, or `live` from the moment it joined, with no history; `shown_from` (the
        first `seq` of the page's list) makes the snapshot start there (`chatroom.rooms.starts.start`). With
        a `person` (a session), they are among the room's people while connected, and `outbox` also
        receives the room's people, who is typing and the room list. A replay that reads the store counts
        as a history page of the client's `address`; over that limit, the connection gets the snapshot.
        """
        return Connection(self, room, outbox, person, (resume, live, address, shown_from, zone))

    def _member_added(self, room: str, uid: str) -> None:
        self.lists.changed(uid)
        self.unread.joined(uid)

    def _conversation_active(self, room: str, uid: str) -> None:
        self.lists.changed(uid)
        self.unread.active(room, uid)

    async def _tab_title(self, person: Person, room: str) -> str:
        """What a member's tab calls private room `room` (its title, or the other person); "" for a public room."""
        if not is_private(room):
            return ""
        try:
            return title_of(room, await self.private.room(person, room), person)
        except NotFound:
            return ""

    async def room_view(
        self,
        room: str,
        person: Person,
        before: int | None = None,
        around: int | None = None,
        address: str | None = None,
        zone: str = UTC,
    ) -> RoomView:
        """What the page of `room` shows `person`: the latest messages, or a page `before` or `around` a `seq`,
        with their times in `zone`. A page of older messages is limited per client `address`.
        """
        await self.readable(person, room)
        if address is not None and (before is not None or around is not None):
            self.limits.history_page(address)
        if before is not None:
            messages, first = await self.history.before(room, before)
        elif around is not None:
            messages, first = await self.history.around(room, around)
        else:
            messages, first = await self._recent(room)
        rooms, online = await self.directory.listing()
        markers = await self.store.read_markers(person.uid)
        # A room open in one of their tabs is seen to its end. Only listed rooms: the page's style has
        # a line per room in `seen`, and a visitor can have seen any number of rooms.
        present = set(await self.store.present_rooms(person.uid, now_us()))
        seen = {}
        for info in rooms:
            if info.name in present:
                seen[info.name] = info.last_seq
            elif info.name in markers:
                seen[info.name] = markers[info.name]
        view = RoomView(
            items="".join(m.item_in(zone) for m in messages),
            first_seq=first,
            room_list=self.fragments.room_list(rooms, online, room),
            seen=seen,
            members=self.fragments.members(await self.presence.members(room)),
            typists=self.typing.seen_by(room, person.uid),
        )
        if person.kind != ACCOUNT:
            return view
        return await self._personal_view(
            view, room, person, messages, (rooms, online), live=before is None and around is None
        )

    async def _personal_view(
        self,
        view: RoomView,
        room: str,
        person: Person,
        messages: list[RenderedMessage],
        listing: tuple[list[RoomInfo], dict[str, int]],
        live: bool,
    ) -> RoomView:
        """A signed-in person's page: their list and title, and where they stopped reading; the latest page
        read (JavaScript off reads it so) marks the room read everywhere."""
        counts = await self.unread.readings(person.uid, person.name)
        place = counts.get(room)
        new_from = 0
        if place is not None and live:
            new_from = next((m.seq for m in messages if m.seq > place.seq and m.message.author_id != person.uid), 0)
        if live:
            feed = self.feeds.get(room)
            last = feed.last_seq if feed is not None and feed.ready.is_set() else await self.store.last_seq(room)
            # Written now, not with the next flush: the page's own socket reads their places as it connects.
            await self.store.mark_rooms_read([(person.uid, room, last)], now_us())
            self.unread.opened(person.uid, room, last)
        marks = badges(counts, room)
        rooms, online = listing
        return replace(
            view,
            seen={},
            room_list=self.fragments.personal_room_list(rooms, online, room, marks),
            unread_total=total(counts, room),
            new_from=new_from,
            notify=place.notify if place is not None else NOTIFY_ALL,
            badges=marks,
        )

    def _send_list(self, outbox: Outbox, room: str, listing: tuple[list[RoomInfo], dict[str, int]]) -> None:
        """A signed-in person's list and title, to one of their connections, if it changed."""
        viewer = self.presence.viewers.get(room, {}).get(outbox)
        if viewer is None:
            return
        html = self.unread.render(outbox, room, listing)
        if html is not None:
            html += self.lists.render_for(outbox)
            self.directory.send(outbox, viewer, html)

    def _on_message(self, message: Message) -> None:
        self.typing.message_sent(message)
        self.unread.message(message)

    async def choose_notify(self, person: Person, room: str, notify: str, address: str | None = None) -> None:
        """What counts as unread in `room` for a signed-in `person` (one of NOTIFY_LEVELS), in all their tabs."""
        if person.kind != ACCOUNT:
            raise Forbidden("Sign in to choose what counts as unread in a room.")
        if notify not in NOTIFY_LEVELS:
            raise Refused("invalid_notify", "Choose every message, only mentions, or nothing (muted).")
        self.limits.notify_choice(person.uid, address)
        await self._stored(self.unread.choose(person.uid, room, notify))

    async def browse(self, page: int, address: str | None = None) -> BrowsePage:
        """A page (from 1) of the rooms written in, the most recently active first, with the people in each;
        limited per client `address`."""
        if address is not None:
            self.limits.browse(address)
        if not 1 <= page <= BROWSE_PAGES:
            raise Refused("invalid_page", f"page is a whole number from 1 to {BROWSE_PAGES}.")
        found = await self.store.public_rooms(BROWSE_PAGE + 1, (page - 1) * BROWSE_PAGE)
        _, online = await self.directory.current()
        return BrowsePage(found[:BROWSE_PAGE], online, page, len(found) > BROWSE_PAGE and page < BROWSE_PAGES)

    async def older_page(self, room: str, before: int, address: str | None = None, zone: str = UTC) -> str:
        """The "load older" fragment: up to a page of messages before `before`, led by the next link.

        Limited per client `address`.
        """
        if address is not None:
            self.limits.history_page(address)
        messages, first = await self.history.before(room, before)
        return self.fragments.older_page(room, "".join(m.item_in(zone) for m in messages), first)

    async def _recent(self, room: str) -> tuple[list[RenderedMessage], int]:
        """The room's latest messages, from its live feed when this process has one."""
        feed = self.feeds.get(room)
        if feed is not None and feed.ready.is_set():
            messages = list(feed.recent)
        else:
            latest = await self.store.latest(room, self.settings.history_limit + 1)
            messages = self.renders.run(latest)[-self.settings.history_limit :]
        return messages, (messages[0].seq if messages else 1)

    async def people_snapshot(self, room: str, outbox: Outbox) -> str:
        """What a connection starts from besides the messages: the room's people, who types, the room list."""
        viewer = self.presence.viewers.get(room, {}).get(outbox)
        if viewer is None:
            return await self._people_for_guests(room)
        viewer.typing_html = self.typing.html_for(room, viewer.uid)
        return viewer.members_html + viewer.typing_html + await self.directory.first_list(room, viewer, outbox)

    async def _render_people_for_guests(self, room: str) -> str:
        """A connection without a session is sent no later changes, so in a storm all of them share one."""
        members = self.fragments.members(await self.presence.members(room), oob=True)
        return members + self.typing.html_for(room, None) + await self.directory.first_list(room, None)

    def typing_event(self, room: str, person: Person, typing: bool, address: str | None) -> None:
        """A typing event from any door (a socket, the SSE page's form), limited per person and per `address`."""
        if self.limits.typing_event(person.uid, address):
            self.typed(room, person, typing)

    def typed(self, room: str, person: Person, typing: bool) -> None:
        """Show that `person` is typing (or stopped), unlimited: the doors call `typing_event`."""
        self.typing.typed(room, person.uid, person.name, typing)

    async def claim_name(self, person: Person, rooms: Iterable[str]) -> None:
        """Refused (`name_taken`) when someone else present in one of `rooms` has `person`'s name or a look-alike.

        An account's name is held in every room, whoever is present. Raises StoreUnavailable when the people
        cannot be read: a name is not taken unchecked.
        """
        await self.names.claim(person, person.name)
        for room in dict.fromkeys(rooms):
            if is_private(room) and not await self.access.can_read(person, room):
                continue  # who is in a private room is none of a non-member's business
            refuse_if_held(person.name, [m.name for m in await self.presence.holders(room) if m.uid != person.uid])

    def chat_frame(self, message: Message) -> str:
        """The JSON protocol's `chat` frame of a stored message."""
        return self.renders.rendered(message, None).json

    async def present_rooms(self, person: Person) -> list[str]:
        """The rooms `person` is present in now (open in one of their tabs)."""
        return await self.presence.rooms_of(person.uid)

    async def new_guest(self, room: str, attempts: int = 10) -> Person:
        """A guest whose generated name nobody present in `room` has."""
        held = [m.name for m in await self.presence.members(room)]
        person = guest()
        for _ in range(attempts):
            if first_clash(person.name, held) is None:
                break
            person = guest()
        return person

    async def rename(self, person: Person) -> None:
        await self.presence.rename(person.uid, person.name)

    async def search(
        self, person: Person | None, query: SearchQuery, before: int | None = None, address: str | None = None
    ) -> SearchResults:
        """A page of search results for `person` (see `Finder.search`), limited per person and per `address`."""
        self.limits.search(person.uid if person else None, address)
        return await self.finder.search(person, query, before)

    async def health(self) -> Health:
        """Whether the store and the bus answer, for /healthz."""
        return await self._health(self.viewer_count)

    async def migration_level(self) -> tuple[int | None, int]:
        """The migrations the store has run (None when it does not answer), and how many this release has."""
        try:
            level: int | None = await self.store.migration_level()
        except StoreUnavailable:
            level = None
        return level, len(MIGRATIONS)

    def _on_signal(self, room: str, event: BusEvent) -> None:
        if event.type == "typing":
            self.typing.apply(room, event.uid, event.name, event.typing)
        elif event.type in ("members", "resync"):  # after a resync, events may have been lost
            self.presence.refresh(room)


class Connection:
    """A connection in a room while inside (`Hub.connect`): a plain object, kept for the connection's life (an
    async generator's frame, as this was, held some 0.5 KB per idle connection)."""

    __slots__ = ("_start", "feed", "hub", "outbox", "person", "room")

    def __init__(
        self,
        hub: Hub,
        room: str,
        outbox: Outbox,
        person: Person | None,
        start: tuple[int | None, bool, str | None, int | None, str],
    ) -> None:
        self.hub, self.room, self.outbox, self.person = hub, room, outbox, person
        self._start: tuple[int | None, bool, str | None, int | None, str] | None = start  # until it has started
        self.feed: RoomFeed | None = None

    async def __aenter__(self) -> Start:
        hub, room, outbox, person = self.hub, self.room, self.outbox, self.person
        assert self._start is not None, "a connection is entered once"
        resume, live, address, shown_from, zone = self._start
        self._start = None
        feed = self.feed = await hub.feeds.ready(room)
        joined = feed.last_seq  # everything after it reaches the outbox, queued until the connection starts
        feed.viewers.add(outbox)
        try:
            if person is not None:
                hub.directory.start()
                await hub.presence.arrive(room, person, outbox)
                if person.kind == ACCOUNT:
                    title = await hub._tab_title(person, room)
                    await hub.unread.arrive(room, person.uid, person.name, outbox, joined, title)
                if person.signed_in:
                    hub.lists.arrive(person.uid, room, outbox)
            return await start(
                feed,
                outbox,
                joined,
                resume,
                live,
                hub.history,
                lambda: address is None or hub.limits.history.allow(address),
                functools.partial(hub.people_snapshot, room, outbox),
                shown_from,
                zone,
            )
        except BaseException:
            self._leave(feed)
            raise

    async def __aexit__(self, *exc: object) -> None:
        if self.feed is not None:
            self._leave(self.feed)

    def _leave(self, feed: RoomFeed) -> None:
        self.feed = None
        hub, room, person, outbox = self.hub, self.room, self.person, self.outbox
        if person is not None:
            hub.presence.leave(room, person.uid, outbox, feed.last_seq)
            hub.unread.leave(room, person.uid, outbox, feed.last_seq)
            hub.lists.leave(person.uid, outbox)
        feed.viewers.discard(outbox)
        hub.feeds.left(room, feed)
