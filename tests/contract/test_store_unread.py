"""Unread counts of accounts, on every store: places per room, messages counted (not `seq`s), exact mentions."""

from __future__ import annotations

import pytest

from chatroom.store import NOTIFY_MENTIONS, MessageStore, Reading, now_us

pytestmark = pytest.mark.anyio

CAP = 1000


@pytest.fixture(autouse=True)
async def rooms(store: MessageStore) -> None:
    for room in ("dev", "ops", "a", "b", "c"):
        await store.create_room(room)


async def readings(store: MessageStore, account: str = "a-alice", name: str = "alice") -> dict[str, Reading]:
    return {r.room: r for r in await store.readings(account, name, 100, CAP)}


async def test_a_room_opened_counts_the_messages_of_others_after_the_place_read(store: MessageStore) -> None:
    await store.append("dev", "bob", "a-bob", "before")
    await store.mark_rooms_read([("a-alice", "dev", 1)], now_us())
    await store.append("dev", "bob", "a-bob", "one")
    await store.append("dev", "alice", "a-alice", "mine does not count")
    await store.append("dev", "bob", "a-bob", "two")
    reading = (await readings(store))["dev"]
    assert (reading.seq, reading.unread, reading.mentions, reading.last_seq) == (1, 2, 0, 4)
    assert reading.notify == "all"


async def test_changes_take_seqs_but_only_messages_count_and_deleted_ones_do_not(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "dev", 0)], now_us())
    first = await store.append("dev", "bob", "a-bob", "hello @alice")
    second = await store.append("dev", "bob", "a-bob", "again")
    await store.react("dev", first.seq, "a-carol", "👍", 20)
    await store.edit("dev", second.seq, "a-bob", "edited")
    assert (await readings(store))["dev"].unread == 2
    await store.delete("dev", first.seq)
    reading = (await readings(store))["dev"]
    assert (reading.unread, reading.mentions) == (1, 0)


async def test_places_never_move_back(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "dev", 5)], now_us())
    await store.mark_rooms_read([("a-alice", "dev", 2)], now_us())
    assert (await readings(store))["dev"].seq == 5


async def test_mentions_are_whole_names_compared_as_names_are(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "dev", 0), ("a-al", "dev", 0)], now_us())
    await store.append("dev", "bob", "a-bob", "@ALICE look")
    await store.append("dev", "bob", "a-bob", "@\uff21\uff4c\uff49\uff43\uff45 wide")
    await store.append("dev", "bob", "a-bob", "@al only al")
    await store.append("dev", "bob", "a-bob", "@\u0430lice is a Cyrillic look-alike, alice@example.org an address")
    await store.append("dev", "bob", "a-bob", "@alicex is someone else")
    assert (await readings(store))["dev"].mentions == 2
    assert (await readings(store, "a-al", "al"))["dev"].mentions == 1


async def test_an_edit_rewrites_who_a_message_mentions(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "dev", 0)], now_us())
    message = await store.append("dev", "bob", "a-bob", "hi all")
    await store.edit("dev", message.seq, "a-bob", "hi @alice")
    assert (await readings(store))["dev"].mentions == 1
    await store.edit("dev", message.seq, "a-bob", "hi nobody")
    assert (await readings(store))["dev"].mentions == 0


async def test_batched_appends_store_their_mentions(store: MessageStore) -> None:
    import asyncio

    await store.mark_rooms_read([("a-alice", "dev", 0)], now_us())
    await asyncio.gather(*(store.append("dev", "bob", "a-bob", f"@alice {n} @alice") for n in range(20)))
    reading = (await readings(store))["dev"]
    assert (reading.unread, reading.mentions) == (20, 20)


async def test_counts_stop_at_the_cap(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "dev", 0)], now_us())
    for n in range(5):
        await store.append("dev", "bob", "a-bob", f"@alice {n}")
    [reading] = await store.readings("a-alice", "alice", 100, 3)
    assert (reading.unread, reading.mentions) == (3, 3)


async def test_the_most_recently_opened_rooms_come_first_up_to_the_limit(store: MessageStore) -> None:
    for n, room in enumerate(["a", "b", "c"]):
        await store.mark_rooms_read([("a-alice", room, 0)], now=1_000 + n)
    assert [r.room for r in await store.readings("a-alice", "alice", 2, CAP)] == ["c", "b"]
    assert await store.readings("a-bob", "bob", 10, CAP) == []


async def test_rooms_that_do_not_exist_are_not_kept(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "nowhere", 3)], now_us())
    await store.set_notify("a-alice", "elsewhere", "mute", now_us())
    assert await readings(store) == {}


async def test_an_import_stores_who_its_messages_mention(store: MessageStore) -> None:
    from dataclasses import replace

    message = await store.append("dev", "bob", "a-bob", "@alice hello")
    await store.mark_rooms_read([("a-alice", "dev", 0)], now_us())
    await store.create_room("copy")
    await store.mark_rooms_read([("a-alice", "copy", 0)], now_us())
    await store.restore_log([replace(message, room="copy")], [])
    assert (await readings(store))["copy"].mentions == 1


async def test_the_notify_choice_is_kept_per_account_and_room(store: MessageStore) -> None:
    await store.mark_rooms_read([("a-alice", "dev", 3)], now_us())
    await store.set_notify("a-alice", "dev", NOTIFY_MENTIONS, now_us())
    await store.set_notify("a-alice", "ops", "mute", now_us())
    found = await readings(store)
    assert (found["dev"].notify, found["dev"].seq, found["ops"].notify) == ("mentions", 3, "mute")
    await store.mark_rooms_read([("a-alice", "dev", 4)], now_us())
    assert (await readings(store))["dev"].notify == "mentions"


async def test_public_rooms_are_paged_most_recently_active_first(store: MessageStore) -> None:
    for room in ["r1", "r2", "r3"]:
        await store.append(room, "bob", "a-bob", "hi")
    assert [r.name for r in await store.public_rooms(2, 0)] == ["r3", "r2"]
    page = await store.public_rooms(2, 2)
    assert [(r.name, r.last_seq) for r in page] == [("r1", 1)]


async def test_many_peoples_readings_in_one_go_are_each_ones_own_in_order(store: MessageStore) -> None:
    await store.append("dev", "bob", "a-bob", "hi @alice")
    await store.append("ops", "alice", "a-alice", "hi @bob")
    await store.mark_rooms_read([("a-alice", "dev", 0), ("a-bob", "ops", 0), ("a-bob", "dev", 1)], now_us())
    people = [("a-bob", "bob"), ("a-nobody", "nobody"), ("a-alice", "alice")]
    together = await store.readings_of(people, 100, CAP)
    assert together == [await store.readings(account, name, 100, CAP) for account, name in people]
    assert [[(r.room, r.unread, r.mentions) for r in each] for each in together] == [
        [("dev", 0, 0), ("ops", 1, 1)],
        [],
        [("dev", 1, 1)],
    ]
    assert await store.readings_of([], 100, CAP) == []
