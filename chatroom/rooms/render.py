"""HTML and JSON renderings of messages and fragments, each computed once and shared by every viewer."""

from __future__ import annotations

import bisect
import itertools
import secrets
from collections.abc import Callable, Hashable, Mapping
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import quote

import jinja2
import orjson
from markupsafe import Markup

from chatroom.identity import is_bot, is_guest
from chatroom.rooms.access import is_private
from chatroom.rooms.conversation import continues, starts_day
from chatroom.store import DELETE, EDIT, REACTIONS, Attachment, Member, Message, Quote, RoomInfo
from chatroom.time_zones import UTC

# Characters of a new message a screen reader announces (the list holds it whole): a short copy, since
# every frame of a message carries it.
HEARD_LIMIT = 160
NONCE_SLOT = "\x00nonce\x00"


def iso(at: Any) -> str:
    return str(at.isoformat().replace("+00:00", "Z"))


def file_url(file: Attachment) -> str:
    return f"/files/{file.id}/{quote(file.name, safe='')}"


def thumbnail_url(file: Attachment) -> str:
    return f"/files/thumbnails/{file.id}"


ZONES_KEPT = 4  # zones a message keeps its renderings in besides UTC (the rest render each time): see README


class Badge(NamedTuple):
    """What a signed-in person's line of a room shows: their unread count there, a mark if it mentions them,
    or that they muted it (`chatroom.rooms.unread.Count.badge`)."""

    unread: int = 0
    mentioned: bool = False
    muted: bool = False


MEMBERS_SHOWN = 100  # people listed by name in a room's list (templates/_members.html); the rest are counted


class Fragments:
    """The partials that travel on the wire, rendered from the same templates as the page.

    `items` arguments are message items this class rendered (and so escaped) already.
    """

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self._message = env.get_template("_message.html")
        self._append = env.get_template("_append.html")
        self._list = env.get_template("_message_list.html")
        self._earlier = env.get_template("_earlier.html")
        self._items = env.get_template("_message_items.html")
        self._input = env.get_template("_message_input.html")
        self._errors = env.get_template("_errors.html")
        self._errors_rendered = Kept(256)  # sentences with numbers in them vary: stay bounded
        self._members = env.get_template("_members.html")
        self._members_rendered = Kept(64)
        self._last_member_items: tuple[list[Member] | None, Markup] = (None, Markup())
        self._member = env.get_template("_member.html")
        self._member_lines = Kept(8192)
        self._room_lists_rendered = Kept(64)
        self._typing = env.get_template("_typing.html")
        self._room_list = env.get_template("_room_list.html")
        self._room_item = env.get_template("_room_item.html")
        self._room_items_rendered = Kept(4096)
        self._title = env.get_template("_title.html")
        self._quote = env.get_template("_quote.html")
        self._replying = env.get_template("_replying.html")
        # The sender's reply to an accepted message: an empty input, no error, and no reply in the making. The
        # input is morphed, not replaced: the form's reset emptied it already, and a morph leaves alone what is
        # typed in it since.
        self._accepted = self.message_input(oob="outerMorph", focus=False) + self.errors(oob=True)
        self._accepted += self.replying("", oob=True)
        # Then the form's next token, which is URL-safe: put between the two halves of the field rendered once.
        self._next_nonce = env.get_template("_nonce.html").render(nonce=NONCE_SLOT, oob=True).split(NONCE_SLOT)
        # A connection started: the page says it is live (it says "offline" itself when htmx sees the close).
        self.live = env.get_template("_connection.html").render(state="live", oob=True)
        # Closed for good (the session ended): no "reconnecting" afterwards, since htmx will not.
        self.ended = env.get_template("_connection.html").render(state="ended", oob=True)

    def message(self, message: Message, previous: Message | None = None, oob: bool = False, zone: str = UTC) -> str:
        """The message's item (as it is now) with its times in `zone`; `previous` (the message before it) decides
        its group and day break (in `zone`). `oob`: the item replaces the one a page shows (a change)."""
        return self._message.render(
            message=message,
            continued=continues(previous, message, zone),
            new_day=starts_day(previous, message, zone),
            oob=oob,
            zone=zone,
        )

    def changed(self, message: Message, previous: Message | None = None, zone: str = UTC) -> str:
        """A change to a message, for a page that shows it: its item, replacing the one shown; and for an edit or a
        deletion, every quote of it in replies, replaced too (`requote`)."""
        return self.message(message, previous, oob=True, zone=zone) + self.requote(message)

    def requote(self, message: Message) -> str:
        """Every quote of `message` a page shows, replaced by one of it as it is now (nothing for a reaction,
        which no quote shows): a reply never keeps showing a text edited away or deleted."""
        if message.kind not in (EDIT, DELETE):
            return ""
        return self._quote.render(room=message.room, reply_to=message.id, quote=Quote.of(message), oob=True)

    def replying(self, room: str, quote: Quote | None = None, oob: bool = False) -> str:
        """The send form's "Replying to …" line, carrying `reply_to` (the quoted message's id); empty for none."""
        return self._replying.render(room=room, quote=quote, oob=oob)

    def append(self, items: str, message: Message | None = None) -> str:
        """`items` appended to `#messages`; with a new `message`, its author and the start of its text for screen
        readers' `#heard`."""
        return self._append.render(items=_escaped(items), message=message, limit=HEARD_LIMIT)

    def message_list(self, room: str, items: str, first_seq: int, oob: bool = False) -> str:
        """The `#messages` list of the latest messages, then `#earlier` reset to a "load older" link before them.

        A snapshot sent in place of a list the client may have paged back from (see `messages_from`).
        """
        return self.messages_from(items, oob) + self._earlier.render(room=room, first_seq=first_seq, oob=oob)

    def messages_from(self, items: str, oob: bool = True) -> str:
        """The `#messages` list alone: the snapshot of a client that keeps the older pages it loaded."""
        return self._list.render(items=_escaped(items), oob=oob)

    def older_page(self, room: str, items: str, first_seq: int) -> str:
        """The same list's contents, for a "load older" request."""
        return self._items.render(room=room, items=_escaped(items), first_seq=first_seq)

    def accepted(self) -> str:
        """The sender's reply to an accepted message: an empty input, no error, and the form's next token."""
        before, after = self._next_nonce
        return self._accepted + before + new_nonce() + after

    def message_input(self, value: str = "", oob: bool | str = False, focus: bool = True) -> str:
        """The `message` control; `oob` True replaces it (a refused text put back), a swap style name swaps so."""
        return self._input.render(value=value, oob=oob, focus=focus)

    def errors(self, error: str = "", oob: bool = False) -> str:
        """The sender's `#errors`; a refusal sent again and again (a flood) is rendered once."""
        return self._errors_rendered.get((error, oob), lambda: self._errors.render(error=error, oob=oob))

    def members(self, members: list[Member], oob: bool = False, more: int = 0) -> str:
        """The list of people: the first `MEMBERS_SHOWN` of `members` by name, then how many more (the rest of
        them, and `more` people not in `members` yet). A storm of arrivals into a big room, each counted at once
        in the same list, costs a count each, not a list each; the same list asked for again is rendered once."""
        items = self._member_items(members)
        total = len(members) + more
        more = total - min(len(members), MEMBERS_SHOWN)
        return self._members_rendered.get(
            (items, total, oob), lambda: self._members.render(items=items, more=more, oob=oob)
        )

    def _member_items(self, members: list[Member]) -> Markup:
        """The lines of the first `MEMBERS_SHOWN` of `members`, joined once for the list last asked about."""
        last, items = self._last_member_items
        if last is not members:
            items = _escaped("".join(self._member_line(m) for m in members[:MEMBERS_SHOWN]))
            self._last_member_items = (members, items)
        return items

    def _member_line(self, member: Member) -> str:
        """A person's line, rendered once for everyone's lists: each arrival into a room changes its list."""
        return self._member_lines.get((member.uid, member.name), lambda: self._member.render(member=member))

    def typing(self, names: list[str], others: int = 0, oob: bool = False) -> str:
        """Who is typing: `names`, then "and 1 other" or "and N others" when `others`."""
        return self._typing.render(names=names, others=others, oob=oob)

    def room_list(self, rooms: list[RoomInfo], online: dict[str, int], current: str, oob: bool = False) -> str:
        """The list as seen from `current`; the same list asked for again (a storm of arrivals) is rendered once."""
        key = (tuple(rooms), tuple(sorted(online.items())), current, oob)
        return self._room_lists_rendered.get(key, lambda: self.room_lists(rooms, online, [current], oob)[current])

    def room_lists(
        self, rooms: list[RoomInfo], online: dict[str, int], currents: list[str], oob: bool = True
    ) -> dict[str, str]:
        """The list (`rooms` by name) as seen from each room in `currents`: each entry is rendered twice,
        not once per room. A room that is not listed is shown to the people in it, in its place by name."""
        elsewhere = {
            r.name: self._room_item.render(r=r, online=online, current=False, badge=None, mine=False) for r in rooms
        }
        here = {r.name: self._room_item.render(r=r, online=online, current=True, badge=None, mine=False) for r in rooms}
        names = list(elsewhere)
        lists = {}
        for current in currents:
            entries = [here[name] if name == current else elsewhere[name] for name in names]
            if current not in here and not is_private(current):  # a private room is never in the public list
                item = self._room_item.render(
                    r=RoomInfo(current, 0), online=online, current=True, badge=None, mine=False
                )
                entries.insert(bisect.bisect(names, current), item)
            lists[current] = self._room_list.render(items=_escaped("".join(entries)), oob=oob)
        return lists

    def personal_room_list(
        self,
        rooms: list[RoomInfo],
        online: dict[str, int],
        current: str,
        badges: Mapping[str, Badge],
        oob: bool = False,
    ) -> str:
        """A signed-in person's list: their rooms (`badges`, by room: the ones they opened or were given) by name
        with their counts, then the other listed rooms (`rooms`, by name). Each line is rendered once per
        process for everyone whose line is the same; a person's list is those lines joined."""
        listed = {r.name: r for r in rooms}
        lines = [
            self._room_line(listed.get(name) or RoomInfo(name, 0), online, name == current, badges.get(name), True)
            for name in sorted({*badges, current})
            if not is_private(name)  # in the person's own list of private rooms, with its badge there
        ]
        lines += [
            self._room_line(r, online, False, None, False) for r in rooms if r.name not in badges and r.name != current
        ]
        return self._room_list.render(items=_escaped("".join(lines)), oob=oob)

    def _room_line(self, r: RoomInfo, online: dict[str, int], current: bool, badge: Badge | None, mine: bool) -> str:
        key = (r.name, online.get(r.name, 0), current, badge, mine)
        return self._room_items_rendered.get(
            key, lambda: self._room_item.render(r=r, online=online, current=current, badge=badge or Badge(), mine=mine)
        )

    def title(self, room: str, unread: int, oob: bool = False, label: str = "") -> str:
        """The page's `<title>`: `(3) #room · chatroom`, with the unread messages of the person's other rooms."""
        return self._title.render(room=room, unread=unread, oob=oob, label=label)


class Kept:
    """Renderings kept by what they were made from, up to `limit` of them (then all are let go and made anew): the
    same list or line asked for again, by a storm of arrivals or everyone a list is sent to, is rendered once."""

    __slots__ = ("_made", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._made: dict[Hashable, str] = {}

    def get(self, key: Hashable, render: Callable[[], str]) -> str:
        html = self._made.get(key)
        if html is None:
            if len(self._made) >= self.limit:
                self._made.clear()
            html = self._made[key] = render()
        return html


def new_nonce() -> str:
    """A send form's one-time token: unique, not secret. It only tells a retry of a send from a new one, and only
    among its sender's own sends (the store keeps sender and token unique), so a random start per process and a
    count are enough: no call for randomness at each message."""
    return f"{_NONCE_START}{next(_NONCE_COUNT):x}"


_NONCE_START = secrets.token_urlsafe(9)  # 72 random bits: another process, or this one after a restart, never meets it
_NONCE_COUNT = itertools.count()


def _escaped(html: str) -> Markup:
    return Markup(html)  # noqa: S704 - only ever our own rendered, autoescaped partials


class RenderedMessage:
    """One message and its wire renderings; a format is rendered the first time a viewer needs it.

    Its times and day break are read in a zone: `item` and `html` in UTC (everyone's, until they choose another),
    `item_in` and `html_in` in any zone, each rendered once (per process) for each zone its viewers use, and kept
    for at most `ZONES_KEPT` zones.
    """

    __slots__ = ("__dict__", "_zoned", "fragments", "message", "previous")

    def __init__(self, message: Message, fragments: Fragments, previous: Message | None = None) -> None:
        self.message = message
        self.fragments = fragments
        self.previous = previous  # seq - 1, when known: the item shows whether it continues that one's group
        self._zoned: dict[tuple[bool, str], str] | None = None

    @property
    def seq(self) -> int:
        return self.message.seq

    @cached_property
    def item(self) -> str:
        """The `<li id="msg-N">`, as in the page."""
        return self._item(UTC)

    @cached_property
    def html(self) -> str:
        """The htmx frame (WebSocket) and SSE data: a new message's item, appended out of band; a changed
        message's item, replacing the one shown (where it is shown)."""
        return self._html(UTC, self.item)

    def item_in(self, zone: str) -> str:
        """The item with its times in `zone`."""
        return self.item if zone == UTC else self._in(zone, False)

    def html_in(self, zone: str) -> str:
        """The frame with its times in `zone`."""
        return self.html if zone == UTC else self._in(zone, True)

    def _in(self, zone: str, frame: bool) -> str:
        zoned = self._zoned if self._zoned is not None else {}
        rendered = zoned.get((frame, zone))
        if rendered is None:
            rendered = self._html(zone, self.item_in(zone)) if frame else self._item(zone)
            if len(zoned) < 2 * ZONES_KEPT:  # a message read in more zones than that renders the others each time
                zoned[(frame, zone)] = rendered
                self._zoned = zoned
        return rendered

    def _item(self, zone: str) -> str:
        return self.fragments.message(self.message, self.previous, zone=zone)

    def _html(self, zone: str, item: str) -> str:
        if self.message.kind:
            return self.fragments.changed(self.message, self.previous, zone)
        return self.fragments.append(item, self.message)

    @cached_property
    def json(self) -> str:
        """The seed's JSON protocol frame: `chat` for a new message, `edit`, `delete` or `reactions` for a change."""
        m = self.message
        frame: dict[str, object] = {"type": m.kind or "chat", "id": m.id, "room": m.room, "seq": m.seq}
        if m.kind == DELETE:
            return orjson.dumps(frame).decode()
        if m.kind == REACTIONS:
            frame["reactions"] = {emoji: len(uids) for emoji, uids in m.reactions}
            return orjson.dumps(frame).decode()
        frame.update(message=m.text, author=m.author, sent_at=iso(m.sent_at))
        frame.update(guest=is_guest(m.author_id), bot=is_bot(m.author_id))
        if m.reply_to:  # only the id: a client shows the quoted message as it has it, edited or deleted since
            frame["reply_to"] = m.reply_to
        if m.edited:
            frame["edited"] = True
        if m.files:  # the text stays raw; a file is its name, size, type and where to fetch it
            frame["files"] = [{"name": f.name, "size": f.size, "type": f.type, "url": file_url(f)} for f in m.files]
        return orjson.dumps(frame).decode()
