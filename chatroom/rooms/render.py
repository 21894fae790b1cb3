"""HTML and JSON renderings of messages and fragments, each computed once and shared by every viewer."""

from __future__ import annotations

import bisect
import secrets
from functools import cached_property
from typing import Any
from urllib.parse import quote

import jinja2
import orjson
from markupsafe import Markup

from chatroom.identity import is_bot, is_guest
from chatroom.rooms.access import is_private
from chatroom.rooms.conversation import continues, starts_day
from chatroom.store import DELETE, REACTIONS, Attachment, Member, Message, RoomInfo

# Characters of a new message a screen reader announces (the list holds it whole): a short copy, since
# every frame of a message carries it.
HEARD_LIMIT = 160


def iso(at: Any) -> str:
    return str(at.isoformat().replace("+00:00", "Z"))


def file_url(file: Attachment) -> str:
    return f"/files/{file.id}/{quote(file.name, safe='')}"


def thumbnail_url(file: Attachment) -> str:
    return f"/files/thumbnails/{file.id}"


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
        self._heard = env.get_template("_heard.html")
        self._items = env.get_template("_message_items.html")
        self._input = env.get_template("_message_input.html")
        self._errors = env.get_template("_errors.html")
        self._errors_rendered: dict[tuple[str, bool], str] = {}
        self._members = env.get_template("_members.html")
        self._members_rendered: dict[tuple[object, ...], str] = {}
        self._room_lists_rendered: dict[tuple[object, ...], str] = {}
        self._typing = env.get_template("_typing.html")
        self._room_list = env.get_template("_room_list.html")
        self._room_item = env.get_template("_room_item.html")
        self._nonce = env.get_template("_nonce.html")
        # The sender's reply to an accepted message: an empty input and no error. The input is morphed, not
        # replaced: the form's reset emptied it already, and a morph leaves alone what is typed in it since.
        self._accepted = self.message_input(oob="outerMorph", focus=False) + self.errors(oob=True)
        # A connection started: the page says it is live (it says "offline" itself when htmx sees the close).
        self.live = env.get_template("_connection.html").render(state="live", oob=True)
        # Closed for good (the session ended): no "reconnecting" afterwards, since htmx will not.
        self.ended = env.get_template("_connection.html").render(state="ended", oob=True)

    def message(self, message: Message, previous: Message | None = None, oob: bool = False) -> str:
        """The message's item (as it is now); `previous` (the message before it) decides its group and day
        break. `oob`: the item replaces the one a page shows (a change)."""
        return self._message.render(
            message=message, continued=continues(previous, message), new_day=starts_day(previous, message), oob=oob
        )

    def append(self, items: str, heard: str = "") -> str:
        """`items` appended to `#messages`; `heard` (a message's author and text) for screen readers' `#heard`."""
        return self._append.render(items=_escaped(items), heard=_escaped(heard))

    def heard(self, message: Message) -> str:
        """What a screen reader announces of a new message: its author and the start of its text."""
        return self._heard.render(message=message, limit=HEARD_LIMIT)

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
        return self._accepted + self._nonce.render(nonce=new_nonce(), oob=True)

    def message_input(self, value: str = "", oob: bool | str = False, focus: bool = True) -> str:
        """The `message` control; `oob` True replaces it (a refused text put back), a swap style name swaps so."""
        return self._input.render(value=value, oob=oob, focus=focus)

    def errors(self, error: str = "", oob: bool = False) -> str:
        """The sender's `#errors`; a refusal sent again and again (a flood) is rendered once."""
        key = (error, oob)
        html = self._errors_rendered.get(key)
        if html is None:
            if len(self._errors_rendered) >= 256:  # sentences with numbers in them vary: stay bounded
                self._errors_rendered.clear()
            html = self._errors_rendered[key] = self._errors.render(error=error, oob=oob)
        return html

    def members(self, members: list[Member], oob: bool = False) -> str:
        """The list of people (the first `MEMBERS_SHOWN`, and how many more): a storm of arrivals beyond those
        shown, who all see the same list, has it rendered once."""
        key = (tuple((m.uid, m.name) for m in members[:MEMBERS_SHOWN]), len(members), oob)
        html = self._members_rendered.get(key)
        if html is None:
            if len(self._members_rendered) >= 64:
                self._members_rendered.clear()
            html = self._members_rendered[key] = self._members.render(members=members, oob=oob)
        return html

    def typing(self, names: list[str], others: int = 0, oob: bool = False) -> str:
        """Who is typing: `names`, then "and 1 other" or "and N others" when `others`."""
        return self._typing.render(names=names, others=others, oob=oob)

    def room_list(self, rooms: list[RoomInfo], online: dict[str, int], current: str, oob: bool = False) -> str:
        """The list as seen from `current`; the same list asked for again (a storm of arrivals) is rendered once."""
        key = (tuple(rooms), tuple(sorted(online.items())), current, oob)
        html = self._room_lists_rendered.get(key)
        if html is None:
            if len(self._room_lists_rendered) >= 64:
                self._room_lists_rendered.clear()
            html = self._room_lists_rendered[key] = self.room_lists(rooms, online, [current], oob)[current]
        return html

    def room_lists(
        self, rooms: list[RoomInfo], online: dict[str, int], currents: list[str], oob: bool = True
    ) -> dict[str, str]:
        """The list (`rooms` by name) as seen from each room in `currents`: each entry is rendered twice,
        not once per room. A room that is not listed is shown to the people in it, in its place by name."""
        elsewhere = {r.name: self._room_item.render(r=r, online=online, current=False) for r in rooms}
        here = {r.name: self._room_item.render(r=r, online=online, current=True) for r in rooms}
        names = list(elsewhere)
        lists = {}
        for current in currents:
            entries = [here[name] if name == current else elsewhere[name] for name in names]
            if current not in here and not is_private(current):  # a private room is never in the public list
                item = self._room_item.render(r=RoomInfo(current, 0), online=online, current=True)
                entries.insert(bisect.bisect(names, current), item)
            lists[current] = self._room_list.render(items=_escaped("".join(entries)), oob=oob)
        return lists


def new_nonce() -> str:
    """A send form's one-time token."""
    return secrets.token_urlsafe(12)


def _escaped(html: str) -> Markup:
    return Markup(html)  # noqa: S704 - only ever our own rendered, autoescaped partials


class RenderedMessage:
    """One message and its wire renderings; a format is rendered the first time a viewer needs it."""

    __slots__ = ("__dict__", "fragments", "message", "previous")

    def __init__(self, message: Message, fragments: Fragments, previous: Message | None = None) -> None:
        self.message = message
        self.fragments = fragments
        self.previous = previous  # seq - 1, when known: the item shows whether it continues that one's group

    @property
    def seq(self) -> int:
        return self.message.seq

    @cached_property
    def item(self) -> str:
        """The `<li id="msg-N">`, as in the page."""
        return self.fragments.message(self.message, self.previous)

    @cached_property
    def html(self) -> str:
        """The htmx frame (WebSocket) and SSE data: a new message's item, appended out of band; a changed
        message's item, replacing the one shown (where it is shown)."""
        if self.message.kind:
            return self.fragments.message(self.message, self.previous, oob=True)
        return self.fragments.append(self.item, self.fragments.heard(self.message))

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
        if m.edited:
            frame["edited"] = True
        if m.files:  # the text stays raw; a file is its name, size, type and where to fetch it
            frame["files"] = [{"name": f.name, "size": f.size, "type": f.type, "url": file_url(f)} for f in m.files]
        return orjson.dumps(frame).decode()
