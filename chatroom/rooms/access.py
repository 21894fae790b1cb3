"""Who may read a room: decided here, and asked at every door that shows a room's messages or its files."""

from __future__ import annotations

from chatroom.identity import Person


async def can_read(person: Person | None, room: str) -> bool:
    """Whether `person` (None: a visitor without a session) may read `room`'s messages and files.

    Every room is public today. Private rooms make this a question of membership, answered here, so that
    search results and files follow it with no change of their own.
    """
    return True
