"""A room's past, rendered: a page before a message ("load older"), around one (a permalink), after one (replay)."""

from __future__ import annotations

from chatroom.rooms.render import RenderedMessage
from chatroom.rooms.render_cache import RenderCache
from chatroom.store import Message, MessageStore


class History:
    def __init__(self, store: MessageStore, renders: RenderCache, page_size: int) -> None:
        self.store = store
        self.renders = renders
        self.page_size = page_size

    async def before(self, room: str, seq: int) -> tuple[list[RenderedMessage], int]:
        """One "load older" page before `seq`, and the first `seq` on it."""
        older = self.renders.run(await self.store.before(room, seq, self.page_size + 1))
        older = older[-self.page_size :]
        return older, (older[0].seq if older else 1)

    async def around(self, room: str, seq: int) -> tuple[list[RenderedMessage], int]:
        """A page with message `seq` in its middle, and the first `seq` on it."""
        limit = self.page_size
        before = await self.store.before(room, seq, limit + 1)
        after = await self.store.after(room, seq - 1, limit)
        # Centred where there is history on both sides; a full page near either end.
        shown_before = min(len(before), max(limit // 2, limit - len(after)))
        shown_after = min(len(after), limit - shown_before)
        context = before[-shown_before - 1 :] if len(before) > shown_before else before
        around = self.renders.run(context + after[:shown_after])
        around = around[1:] if len(before) > shown_before else around
        return around, (around[0].seq if around else 1)

    async def from_seq(self, room: str, seq: int, limit: int) -> list[RenderedMessage]:
        """Up to `limit` messages (as they are now) from `seq` on: a snapshot that starts where a page did."""
        return self.renders.run(await self.store.after(room, seq - 1, limit))

    async def after(self, room: str, seq: int, limit: int) -> list[RenderedMessage]:
        """Up to `limit` entries of the log after `seq` (new messages and changes), in order: a replay."""
        replay: list[RenderedMessage] = []
        previous: Message | None = None  # the message before a new one: the last new one in the log
        # From the client's own last entry on: if it is a message, the first new one is rendered knowing it.
        for entry in await self.store.log_after(room, max(seq - 1, 0), limit + 1):
            if entry.seq > seq:
                replay.append(self.renders.rendered(entry, None if entry.kind else previous))
            previous = previous if entry.kind else entry
        return replay[:limit]
