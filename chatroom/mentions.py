"""Who a message mentions: parsed once, when it is stored, so counts of mentions are exact and cheap to read.

A mention is `@name` as the page marks it (`chatroom.rooms.conversation.MENTION`, the first
`MENTIONS_MARKED` of a message), and it names an account when the two compare as names do: after
Unicode NFKC and case folding (`@ALICE`, and `@alice` in fullwidth letters, mention `alice`). Only the whole name counts
(`@al` does not mention `alice`), and a look-alike (a Cyrillic `a` for a Latin one) is not the name: the
page does not highlight it for that person either.
"""

from __future__ import annotations

import itertools
import unicodedata

from chatroom.rooms.conversation import MENTION, MENTIONS_MARKED


def mention_key(name: str) -> str:
    """How a name is stored as mentioned, and looked up for its person: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def mentioned(text: str) -> tuple[str, ...]:
    """The names `text` mentions, each once, as `mention_key`s, in the order they first appear."""
    found: dict[str, None] = {}
    for match in itertools.islice(MENTION.finditer(text), MENTIONS_MARKED):
        name = mention_key(match.group(1))
        if name and not any(c.isspace() for c in name):  # stored space-separated on PostgreSQL's batch path
            found[name] = None
    return tuple(found)
