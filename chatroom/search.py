"""The rules of a search: what a person may type in the search box, and what it asks the store for."""

from __future__ import annotations

from chatroom.errors import Refused
from chatroom.names import MAX_LENGTH as MAX_NAME_LENGTH
from chatroom.store.search import SearchQuery
from chatroom.validation import room_name

MAX_QUERY_LENGTH = 200  # characters; a search is a few words, and every word costs an index lookup
MAX_WORDS = 10
PAGE_SIZE = 20


def search_query(raw: object, room: object = None) -> SearchQuery | None:
    """The query typed in the box (`room:name` and `from:name` filter it; `room` is the form's own room
    field), or None when it has no word to look for. Every word must be in a message for it to match."""
    if not isinstance(raw, str):
        raise Refused("invalid_search", "Send the search as text in a q field.")
    if len(raw) > MAX_QUERY_LENGTH:
        raise Refused(
            "search_too_long", f"A search can be at most {MAX_QUERY_LENGTH} characters; this one has {len(raw)}."
        )
    words: list[str] = []
    author = None
    for part in raw.split():
        key, colon, value = part.partition(":")
        if colon and key.lower() == "room" and value:
            room = value
        elif colon and key.lower() == "from" and value:
            author = _author(value)
        elif any(c.isalnum() for c in part):  # punctuation alone is no word: no index holds it
            words.append(part)
    if len(words) > MAX_WORDS:
        raise Refused("search_too_long", f"A search can have at most {MAX_WORDS} words; this one has {len(words)}.")
    if not words:
        return None
    return SearchQuery(tuple(dict.fromkeys(words)), None if room in (None, "") else room_name(room), author)


def _author(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise Refused("invalid_name", f"A name is at most {MAX_NAME_LENGTH} characters.")
    return value
