"""Rendered messages kept for reuse, so a page or replay asked for again is not rendered again."""

from __future__ import annotations

import sys
from collections import OrderedDict

from chatroom.rooms.render import Fragments, RenderedMessage
from chatroom.store import Message

# A 500-message replay of long messages holds about 7 MiB once rendered: room for two, in any process.
MAX_ENTRIES = 4096
MAX_BYTES = 16 * 2**20


class RenderCache:
    """The process's recently rendered messages of every room, the least recently used dropped first.

    An entry is a message's `RenderedMessage`, keyed by room and `seq`, and reused only for the same
    message after the same one: its item shows whether it continues the previous message's group or
    starts a day. A run's first message, whose predecessor is not known, may take the entry rendered
    knowing it (it can only be more right); rendered alone, it is not kept, as it is usually the
    context of a page and not shown.
    """

    def __init__(self, fragments: Fragments, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.fragments = fragments
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[str, int], tuple[RenderedMessage, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def run(self, messages: list[Message]) -> list[RenderedMessage]:
        """Consecutive messages, each rendered knowing the one before it (the first one's is unknown)."""
        return [self.rendered(m, p) for p, m in zip([None, *messages], messages, strict=False)]

    def rendered(self, message: Message, previous: Message | None) -> RenderedMessage:
        if message.kind and previous is None:  # a change: its message is grouped as it was when rendered here
            kept = self._entries.get((message.room, message.id))
            previous = kept[0].previous if kept is not None else None
        key = (message.room, message.seq)
        entry = self._entries.get(key)
        if entry is not None:
            cached = entry[0]
            if cached.message == message and (previous is None or cached.previous == previous):
                self._entries.move_to_end(key)
                return cached
        rendered = RenderedMessage(message, self.fragments, previous)
        if previous is not None or message.seq == 1:
            self._keep(key, rendered)
        return rendered

    def _keep(self, key: tuple[str, int], rendered: RenderedMessage) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old[1]
        # What the entry holds once each format is rendered: the item and its frame, the text and its JSON.
        size = 2 * (sys.getsizeof(rendered.item) + sys.getsizeof(rendered.message.text))
        self._entries[key] = (rendered, size)
        self.size += size
        while self._entries and (len(self._entries) > self.max_entries or self.size > self.max_bytes):
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= dropped
