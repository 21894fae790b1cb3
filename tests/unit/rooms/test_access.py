"""Who may read a room: a public room costs no lookup, a private room's members are read once per process for
many asking together, and a change anywhere (the bus) is seen at once and closes a removed member's connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatroom.bus import Bus
from chatroom.identity import ACCOUNT, Person, guest
from chatroom.rooms.access import Access
from chatroom.store import Member, PrivateRoom

pytestmark = pytest.mark.anyio

ALICE = Person("a" + "1" * 16, "Alice", ACCOUNT, "member")
BOB = Person("a" + "2" * 16, "Bob", ACCOUNT, "member")


class Rooms:
    """A store that knows one private room, and counts how often it is asked."""

    def __init__(self) -> None:
        self.members = [ALICE.uid]
        self.reads = 0

    async def private_room(self, name: str) -> PrivateRoom | None:
        self.reads += 1
        await asyncio.sleep(0)
        if name != "_plans":
            return None
        return PrivateRoom(name, "plans", None, tuple(Member(uid, uid) for uid in self.members))


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = Bus("memory://")
    await bus.connect()
    yield bus
    await bus.disconnect()


def access_of(store: Rooms, bus: Bus) -> Access:
    store_any: Any = store
    return Access(store_any, bus)


async def test_a_public_room_is_anyones_without_a_lookup(bus: Bus) -> None:
    store = Rooms()
    access = access_of(store, bus)
    assert await access.can_read(None, "lobby") and await access.can_read(guest(), "lobby")
    assert store.reads == 0


async def test_a_private_room_is_its_members_only_and_read_once_for_many(bus: Bus) -> None:
    store = Rooms()
    access = access_of(store, bus)
    answers = await asyncio.gather(*(access.can_read(p, "_plans") for p in [ALICE, BOB] * 50))
    assert answers == [True, False] * 50
    assert store.reads == 1
    assert not await access.can_read(None, "_plans") and not await access.can_read(guest(), "_plans")
    assert not await access.can_read(ALICE, "_other")


async def test_a_change_in_another_process_reaches_this_ones_cache_and_closes_the_removed(bus: Bus) -> None:
    store = Rooms()
    here, there = access_of(store, bus), access_of(store, bus)
    here.start()
    await asyncio.sleep(0.05)  # following the bus
    try:
        assert not await here.can_read(BOB, "_plans")
        store.members.append(BOB.uid)
        await there.changed("_plans", added=BOB.uid)
        for _ in range(100):
            if await here.can_read(BOB, "_plans"):
                break
            await asyncio.sleep(0.01)
        assert await here.can_read(BOB, "_plans")
        ended: list[str] = []
        with (
            here.watch("_plans", BOB.uid, lambda: ended.append("bob")),
            here.watch("_plans", ALICE.uid, lambda: ended.append("alice")),
        ):
            store.members.remove(BOB.uid)
            await there.changed("_plans", removed=BOB.uid)
            for _ in range(100):
                if ended:
                    break
                await asyncio.sleep(0.01)
        assert ended == ["bob"]
        assert not await here.can_read(BOB, "_plans")
    finally:
        await here.close()
