"""Search across rooms: the store's full-text index, filtered by who may read each room."""

from __future__ import annotations

from dataclasses import dataclass

from chatroom.identity import Person
from chatroom.rooms.access import Access
from chatroom.search import PAGE_SIZE
from chatroom.store import Message, MessageStore
from chatroom.store.search import SearchQuery


@dataclass(frozen=True, slots=True)
class SearchResults:
    messages: list[Message]  # newest first
    next_before: int | None  # the position the next page starts below; None on the last page


class Finder:
    def __init__(self, store: MessageStore, access: Access) -> None:
        self.store = store
        self.access = access

    async def search(self, person: Person | None, query: SearchQuery, before: int | None) -> SearchResults:
        """A page of messages with every word of `query`, newest first, from rooms `person` may read.

        A page may hold fewer than its size where rooms the person may not read had matches; the next page
        goes on from the last one looked at.
        """
        found = await self.store.search(query, before, PAGE_SIZE)
        readable = [f.message for f in found if await self.access.can_read(person, f.message.room)]
        return SearchResults(readable, found[-1].position if len(found) == PAGE_SIZE else None)
