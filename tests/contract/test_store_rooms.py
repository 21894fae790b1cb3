"""Which rooms the store lists and which it forgets, on every store: created rooms cannot crowd out written ones."""

from __future__ import annotations

import pytest

from chatroom.rooms.directory import LISTED
from chatroom.store import MessageStore, now_us

pytestmark = pytest.mark.anyio

DAY = 24 * 3600 * 1_000_000


async def say(store: MessageStore, room: str) -> None:
    await store.append(room, "alice", "uid-alice", f"hello {room}")


async def names(store: MessageStore, limit: int = 200) -> list[str]:
    return [r.name for r in await store.rooms(limit, pinned="lobby")]


async def test_a_room_written_in_outranks_a_hundred_newer_empty_rooms(store: MessageStore) -> None:
    await say(store, "real")
    for number in range(100):
        await store.create_room(f"junk-{number:03}")
    assert await names(store, limit=1) == ["real"]


async def test_written_rooms_come_by_their_last_message_then_empty_rooms_newest_first(store: MessageStore) -> None:
    await say(store, "first")
    await store.create_room("empty-old")
    await say(store, "second")
    await store.create_room("empty-new")
    await say(store, "first")
    assert await names(store) == ["first", "second", "empty-new", "empty-old"]


async def test_the_lobby_is_listed_first_among_more_rooms_than_the_list_holds(store: MessageStore) -> None:
    await store.create_room("lobby")
    for number in range(LISTED + 10):
        await say(store, f"busy-{number:03}")
    listed = await names(store, limit=LISTED)
    assert len(listed) == LISTED
    assert listed[0] == "lobby"
    assert listed[1:] == [f"busy-{number:03}" for number in range(LISTED + 9, 10, -1)]


async def test_a_written_lobby_is_not_listed_twice(store: MessageStore) -> None:
    await say(store, "lobby")
    await say(store, "dev")
    assert await names(store) == ["lobby", "dev"]


async def test_old_empty_rooms_expire_and_written_rooms_and_the_lobby_stay(store: MessageStore) -> None:
    await store.create_room("lobby")
    await store.create_room("junk")
    await say(store, "real")
    assert await store.expire_rooms(now_us() + 1, keep="lobby", limit=10) == 1
    assert sorted(await names(store)) == ["lobby", "real"]


async def test_empty_rooms_made_after_the_cutoff_stay(store: MessageStore) -> None:
    await store.create_room("old")
    cutoff = now_us() + 1
    await store.create_room("new")
    assert await store.expire_rooms(cutoff, keep="lobby", limit=10) == 1
    assert await names(store) == ["new"]


async def test_an_empty_room_someone_has_open_stays(store: MessageStore) -> None:
    await store.create_room("quiet")
    await store.enter("p1", [("quiet", "uid-bob", "bob")], now_us() + DAY)
    assert await store.expire_rooms(now_us() + DAY, keep="lobby", limit=10) == 0
    assert await names(store) == ["quiet"]


async def test_room_expiry_deletes_at_most_the_limit_per_run(store: MessageStore) -> None:
    for number in range(5):
        await store.create_room(f"junk-{number}")
    cutoff = now_us() + 1
    assert [await store.expire_rooms(cutoff, keep="lobby", limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert await names(store) == []


async def test_an_expired_room_written_in_again_starts_at_one(store: MessageStore) -> None:
    await store.create_room("again")
    await store.expire_rooms(now_us() + 1, keep="lobby", limit=10)
    assert (await store.append("again", "alice", "uid-alice", "back")).seq == 1
    assert await names(store) == ["again"]
