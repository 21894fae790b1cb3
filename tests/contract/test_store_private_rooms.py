"""Private rooms and direct conversations in every store: members kept, one direct room per pair even when made
at once, each person's list newest first, and never a trace in the public list."""

from __future__ import annotations

import asyncio

import pytest

from chatroom.accounts.records import Account
from chatroom.names import key
from chatroom.store import Member, MessageStore, PrivateRoom, now_us

pytestmark = pytest.mark.anyio

ALICE, BOB, CAROL = "a" + "1" * 16, "a" + "2" * 16, "a" + "3" * 16


async def accounts(store: MessageStore) -> None:
    for id, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol")):
        k = key(name)
        assert await store.create_account(
            Account(id, name, "member", True, "", now_us()), (k.folded, k.looks, k.looks_folded)
        )


async def test_a_private_room_has_its_creator_as_first_member_and_is_never_listed(store: MessageStore) -> None:
    await accounts(store)
    assert await store.create_private_room("_secret1", "plans", ALICE, now_us())
    room = await store.private_room("_secret1")
    assert room == PrivateRoom("_secret1", "plans", None, (Member(ALICE, "Alice"),), created_by=ALICE)
    await store.append("_secret1", "Alice", ALICE, "hello")
    await store.create_room("lobby")
    assert [r.name for r in await store.rooms(50, "lobby")] == ["lobby"]
    assert await store.expire_rooms(now_us() + 1, keep="lobby", limit=10) == 0
    assert await store.private_room("lobby") is None


async def test_a_taken_name_is_not_made_again(store: MessageStore) -> None:
    await accounts(store)
    assert await store.create_private_room("_secret1", "plans", ALICE, now_us())
    assert not await store.create_private_room("_secret1", "mine", BOB, now_us())
    room = await store.private_room("_secret1")
    assert room is not None and room.title == "plans" and [m.uid for m in room.members] == [ALICE]


async def test_members_are_added_once_and_removed(store: MessageStore) -> None:
    await accounts(store)
    await store.create_private_room("_secret1", "plans", ALICE, now_us())
    assert await store.add_member("_secret1", BOB, now_us())
    assert not await store.add_member("_secret1", BOB, now_us())
    assert not await store.add_member("_nothing", BOB, now_us())
    room = await store.private_room("_secret1")
    assert room is not None and room.members == (Member(ALICE, "Alice"), Member(BOB, "Bob"))
    assert await store.remove_member("_secret1", ALICE)
    assert not await store.remove_member("_secret1", ALICE)
    room = await store.private_room("_secret1")
    assert room is not None and not room.has(ALICE) and room.has(BOB)


async def test_concurrent_first_uses_of_a_direct_conversation_make_one_room(store: MessageStore) -> None:
    await accounts(store)
    now = now_us()
    names = await asyncio.gather(*(store.direct_room((ALICE, BOB), f"_dm{n:014}", now) for n in range(5)))
    names += [await store.direct_room((BOB, ALICE), "_dmlater", now_us())]
    assert len(set(names)) == 1 and names[0].startswith("_dm")
    room = await store.private_room(names[0])
    assert room is not None and room.direct and [m.uid for m in room.members] == [ALICE, BOB]
    assert not await store.add_member(names[0], CAROL, now_us())  # a direct conversation stays the two's


async def test_a_direct_conversation_under_a_name_taken_by_another_room_is_not_made(store: MessageStore) -> None:
    await accounts(store)
    await store.create_private_room("_taken", "plans", CAROL, now_us())
    assert await store.direct_room((ALICE, BOB), "_taken", now_us()) == ""
    assert await store.direct_room((ALICE, BOB), "_free", now_us()) == "_free"


async def test_conversations_are_the_persons_own_newest_first_with_the_other_persons_name(
    store: MessageStore,
) -> None:
    await accounts(store)
    await store.create_private_room("_plans", "plans", ALICE, now_us())
    direct = await store.direct_room((ALICE, BOB), "_dmab", now_us())
    await store.create_private_room("_carols", "carols", CAROL, now_us())
    await store.append(direct, "Bob", BOB, "hi")
    mine = await store.conversations(ALICE, 10)
    assert [(c.room, c.title, c.direct) for c in mine] == [("_dmab", "Bob", True), ("_plans", "plans", False)]
    await store.append("_plans", "Alice", ALICE, "later")
    assert [c.room for c in await store.conversations(ALICE, 10)] == ["_plans", "_dmab"]
    assert [c.room for c in await store.conversations(ALICE, 1)] == ["_plans"]
    assert [(c.room, c.title) for c in await store.conversations(BOB, 10)] == [("_dmab", "Alice")]


async def test_private_rooms_are_exported_and_restored_with_their_members(store: MessageStore) -> None:
    await accounts(store)
    await store.create_private_room("_plans", "plans", ALICE, now_us())
    await store.add_member("_plans", BOB, now_us())
    direct = await store.direct_room((ALICE, CAROL), "_dmac", now_us())
    exported = await store.private_rooms("", 10)
    assert [r.name for r in exported] == sorted(["_plans", direct])
    assert [r.name for r in await store.private_rooms("_dmac", 10)] == ["_plans"]
    await store.remove_member("_plans", BOB)
    await store.restore_private_rooms(exported)
    room = await store.private_room("_plans")
    assert room is not None and [m.uid for m in room.members] == [ALICE, BOB]
