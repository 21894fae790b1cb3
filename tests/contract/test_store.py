"""The message store's contract, run against every implementation (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import MessageStore, now_us, open_store
from tests.integration.servers import free_port

pytestmark = pytest.mark.anyio


async def fill(store: MessageStore, room: str, count: int) -> None:
    for number in range(1, count + 1):
        await store.append(room, "alice", "uid-alice", f"{room} {number}")


async def test_append_numbers_each_room_from_one(store: MessageStore) -> None:
    seqs = [(await store.append(room, "alice", "uid-alice", "hi")).seq for room in ("lobby", "lobby", "dev", "lobby")]
    assert seqs == [1, 2, 1, 3]
    assert await store.last_seq("lobby") == 3
    assert await store.last_seq("dev") == 1
    assert await store.last_seq("nowhere") == 0


async def test_append_returns_the_stored_message(store: MessageStore) -> None:
    before = datetime.now(UTC)
    sent = await store.append("lobby", "Zoë <b>", "uid-zoe", "héllo 👋\nsecond line")
    [stored] = await store.latest("lobby", 10)
    assert stored == sent
    assert (sent.room, sent.author, sent.author_id, sent.text) == (
        "lobby",
        "Zoë <b>",
        "uid-zoe",
        "héllo 👋\nsecond line",
    )
    assert sent.sent_at.tzinfo == UTC
    assert before - timedelta(seconds=1) <= sent.sent_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_latest_gives_the_newest_oldest_first(store: MessageStore) -> None:
    await fill(store, "lobby", 7)
    assert [m.seq for m in await store.latest("lobby", 3)] == [5, 6, 7]
    assert [m.seq for m in await store.latest("lobby", 50)] == [1, 2, 3, 4, 5, 6, 7]
    assert await store.latest("empty", 3) == []


async def test_before_gives_the_nearest_older_ones_oldest_first(store: MessageStore) -> None:
    await fill(store, "lobby", 10)
    assert [m.seq for m in await store.before("lobby", 8, 3)] == [5, 6, 7]
    assert [m.seq for m in await store.before("lobby", 3, 10)] == [1, 2]
    assert await store.before("lobby", 1, 10) == []


async def test_after_gives_the_nearest_newer_ones_oldest_first(store: MessageStore) -> None:
    await fill(store, "lobby", 10)
    assert [m.seq for m in await store.after("lobby", 3, 4)] == [4, 5, 6, 7]
    assert [m.seq for m in await store.after("lobby", 8, 10)] == [9, 10]
    assert await store.after("lobby", 10, 10) == []


async def test_rooms_lists_the_most_recently_written_first(store: MessageStore) -> None:
    await store.append("old", "alice", "uid-alice", "first")
    await store.create_room("quiet")
    await store.append("busy", "alice", "uid-alice", "second")
    await store.append("busy", "alice", "uid-alice", "third")
    rooms = await store.rooms(10, pinned="lobby")
    assert [(r.name, r.last_seq) for r in rooms] == [("busy", 2), ("old", 1), ("quiet", 0)]
    assert [r.name for r in await store.rooms(2, pinned="lobby")] == ["busy", "old"]


async def test_create_room_keeps_an_existing_room(store: MessageStore) -> None:
    await fill(store, "lobby", 2)
    await store.create_room("lobby")
    assert await store.last_seq("lobby") == 2
    assert (await store.append("lobby", "alice", "uid-alice", "next")).seq == 3


async def test_messages_survive_a_new_store_over_the_same_database(store_url: str) -> None:
    first = open_store(store_url)
    await first.open()
    await fill(first, "lobby", 3)
    await first.close()
    second = open_store(store_url)
    await second.open()
    try:
        assert [m.text for m in await second.latest("lobby", 10)] == ["lobby 1", "lobby 2", "lobby 3"]
        assert (await second.append("lobby", "bob", "uid-bob", "back")).seq == 4
    finally:
        await second.close()


async def test_stores_opening_at_once_migrate_once(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        await fill(stores[0], "lobby", 2)
        assert [m.seq for m in await stores[3].latest("lobby", 10)] == [1, 2]
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    again = open_store(store_url)
    await again.open()
    try:
        assert await again.last_seq("lobby") == 2
    finally:
        await again.close()


async def test_unreachable_postgres_raises_store_unavailable() -> None:
    store = open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.open()
    assert time.monotonic() - started < 6


async def test_the_log_has_an_epoch_of_its_own(store: MessageStore, store_url: str) -> None:
    epoch = await store.epoch()
    assert re.fullmatch(r"[0-9a-f]{16}", epoch)
    again = open_store(store_url)
    await again.open()
    try:
        assert await again.epoch() == epoch  # every process of one database agrees
    finally:
        await again.close()


async def test_old_messages_by_retention(store: MessageStore) -> None:
    for room in ("lobby", "dev", "keep"):
        await store.append(room, "alice", "uid-alice", f"in {room}")
    later = now_us() + 10**6
    await store.set_room_retention("keep", 0)
    await store.set_room_retention("dev", 3)
    assert await store.room_retention() == {"dev": 3, "keep": 0}
    assert await store.old_messages(later, 10) == [("lobby", 1)]  # the rooms without days of their own
    assert await store.old_messages(later, 10, "dev") == [("dev", 1)]
    await store.delete("lobby", 1)
    assert await store.old_messages(later, 10) == []  # deleted already
    await store.set_room_retention("dev", None)
    assert await store.room_retention() == {"keep": 0}
    assert await store.old_messages(later, 10) == [("dev", 1)]
