"""What the store forgets: rooms never written in after a day, read markers untouched for 30 days."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatroom.rooms.retention import BATCH, Retention, Swept
from chatroom.store import MessageStore, now_us, open_store

pytestmark = pytest.mark.anyio

HOUR = 3600 * 1_000_000
DAY = 24 * HOUR


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[MessageStore]:
    store = open_store(f"sqlite:///{tmp_path / 'chat.sqlite3'}")
    await store.open()
    yield store
    await store.close()


async def rooms(store: MessageStore) -> list[str]:
    return sorted(r.name for r in await store.rooms(100, pinned="lobby"))


async def test_rooms_never_written_in_go_a_day_after_they_were_made(sqlite_store: MessageStore) -> None:
    removed: list[str] = []
    retention = Retention(sqlite_store)
    retention.on_rooms_removed = lambda: removed.append("rooms")
    for room in ("lobby", "junk"):
        await sqlite_store.create_room(room)
    await sqlite_store.append("dev", "alice", "uid-alice", "hi")
    made = now_us()
    assert await retention.sweep(made + 23 * HOUR) == Swept(0, 0)
    assert await rooms(sqlite_store) == ["dev", "junk", "lobby"]
    assert await retention.sweep(made + DAY + HOUR) == Swept(1, 0)
    assert await rooms(sqlite_store) == ["dev", "lobby"]
    assert removed == ["rooms"], "the room list is told once"


async def test_read_markers_go_after_thirty_days_without_a_visit(sqlite_store: MessageStore) -> None:
    retention = Retention(sqlite_store)
    start = now_us()
    await sqlite_store.mark_read([("uid-guest", "lobby", 3)], start)
    await sqlite_store.mark_read([("uid-regular", "lobby", 3)], start + 20 * DAY)
    assert await retention.sweep(start + 29 * DAY) == Swept(0, 0)
    assert await retention.sweep(start + 31 * DAY) == Swept(0, 1)
    assert await sqlite_store.read_markers("uid-guest") == {}
    assert await sqlite_store.read_markers("uid-regular") == {"lobby": 3}


async def test_a_full_batch_means_another_run_soon(sqlite_store: MessageStore) -> None:
    await sqlite_store.mark_read([("uid-guest", f"room-{n}", 1) for n in range(BATCH + 1)], 0)
    retention = Retention(sqlite_store)
    first = await retention.sweep(now_us())
    second = await retention.sweep(now_us())
    assert (first, first.full, second, second.full) == (Swept(0, BATCH), True, Swept(0, 1), False)
