"""Private rooms and direct conversations: making them, adding people, leaving, and each person's list of them.

Only accounts take part: a guest has nothing that stays theirs to be a member with. A private room's name is
`chatroom.rooms.access.PRIVATE` and random hex, so it neither collides with a public room nor can be guessed;
the name its creator chose is its title. A direct conversation has one room per pair of accounts, made on
first use by either of them (the store makes it once, however many ask at once).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from chatroom.errors import Forbidden, NotFound, Refused
from chatroom.identity import Person
from chatroom.names import key
from chatroom.rooms.access import PRIVATE, Access, is_private
from chatroom.rooms.limits import AddressLimits
from chatroom.store import Conversation, MessageStore, PrivateRoom, now_us
from chatroom.validation import room_name

MAX_MEMBERS = 200  # people in one private room
LISTED = 50  # private rooms and direct conversations in a person's list
MAX_NAME = 64  # characters of an account name asked for (a name is at most 32)


def new_room_name() -> str:
    return PRIVATE + secrets.token_hex(8)


def title_of(room: str, private: PrivateRoom | None, me: Person) -> str:
    """What the page calls the room: #name, a private room's title, or the other person of a direct conversation."""
    if private is None:
        return f"#{room}"
    if private.direct:
        others = [m.name for m in private.members if m.uid != me.uid]
        return others[0] if others else me.name
    return private.title


class PrivateRooms:
    def __init__(self, store: MessageStore, access: Access, limits: Callable[[], AddressLimits]) -> None:
        self.store = store
        self.access = access
        self._limits = limits  # the hub's, as they are now

    @property
    def limits(self) -> AddressLimits:
        return self._limits()

    async def create(self, person: Person, raw_title: object, address: str | None) -> str:
        """A new private room titled `raw_title` (a room name's rules), `person` its first member: its name."""
        _account_only(person, "Sign in to make a private room: a guest cannot be a member of one.")
        title = room_name(raw_title)
        if address is not None:
            self.limits.room(address, person.uid)
        while True:
            name = new_room_name()
            if await self.store.create_private_room(name, title, person.uid, now_us()):
                await self.access.changed(name, added=person.uid)
                return name

    async def direct(self, person: Person, raw_name: object, address: str | None) -> str:
        """The direct conversation of `person` and the account called `raw_name`: its room's name."""
        _account_only(person, "Sign in to write to someone directly.")
        other = await self._account(raw_name)
        if other == person.uid:
            raise Refused("direct_to_self", "A direct conversation is with someone else.")
        if address is not None:
            self.limits.direct(person.uid, address)
        while True:
            name = await self.store.direct_room((person.uid, other), new_room_name(), now_us())
            if name:  # the other person's list shows it from its first message (`Access.active`)
                return name

    async def add(self, by: Person, room: str, raw_name: object, address: str | None) -> None:
        """Add the account called `raw_name` to `room` (by a member)."""
        found = await self._mine(by, room)
        if found.direct:
            raise Refused("direct_room", "A direct conversation is between its two people: make a private room.")
        if address is not None:
            self.limits.member(by.uid, address)
        uid = await self._account(raw_name)
        if found.has(uid):
            raise Refused("already_member", "They are in this room already.")
        if len(found.members) >= MAX_MEMBERS:
            raise Refused("too_many_members", f"A private room can have at most {MAX_MEMBERS} people.")
        await self.store.add_member(room, uid, now_us())
        await self.access.changed(room, added=uid)

    async def remove(self, by: Person, room: str, raw_name: object, address: str | None) -> None:
        """Take the account called `raw_name` out of `room`: by the member who made the room, or a member who is a
        moderator or administrator. Their sockets and streams to it close at once, in every process."""
        found = await self._mine(by, room)
        if found.direct:
            raise Refused("direct_room", "A direct conversation is between its two people: nobody is removed.")
        if by.uid != found.created_by and not by.may("moderator"):
            raise Forbidden("Only the person who made this room (or a moderator) can remove someone from it.")
        if address is not None:
            self.limits.member(by.uid, address)
        uid = await self._account(raw_name)
        if uid == by.uid:
            raise Refused("remove_self", "To go, leave the room.")
        if not found.has(uid):
            raise Refused("not_member", "They are not in this room.")
        await self.store.remove_member(room, uid)
        await self.access.changed(room, removed=uid)

    async def leave(self, person: Person, room: str) -> None:
        found = await self._mine(person, room)
        if found.direct:
            raise Refused("direct_room", "A direct conversation cannot be left.")
        await self.store.remove_member(room, person.uid)
        await self.access.changed(room, removed=person.uid)

    async def room(self, person: Person, room: str) -> PrivateRoom | None:
        """What a member's page shows of private room `room`; None for a public room. NotFound for anyone else."""
        if not is_private(room):
            return None
        return await self._mine(person, room)

    async def conversations(self, person: Person | None) -> list[Conversation]:
        """The person's private rooms and direct conversations, the latest active first (none for a guest)."""
        if person is None or not person.signed_in:
            return []
        return await self.store.conversations(person.uid, LISTED)

    async def _mine(self, person: Person, room: str) -> PrivateRoom:
        found = await self.access.room(room) if is_private(room) and person.signed_in else None
        if found is None or not found.has(person.uid):
            raise NotFound("There is no such room.")
        return found

    async def _account(self, raw_name: object) -> str:
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        if not name or len(name) > MAX_NAME:
            raise Refused("invalid_name", "Give the name of someone with an account.")
        account = await self.store.account_by_name(key(name).folded)
        if account is None or not account.active:
            raise Refused("unknown_account", f"Nobody has an account called {name}.")
        return account.id


def _account_only(person: Person, detail: str) -> None:
    if not person.signed_in:
        raise Forbidden(detail)
