"""Appends made together share a commit, in every store: gapless `seq` across stores on one database,
a room's order kept, and a failed batch failing every append in it."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import Message, MessageStore, open_store
from tests.contract.test_store_files import new_file

pytestmark = pytest.mark.anyio

POISON = "poison"  # a text the database itself refuses, once `refuse_poison` has run


async def refuse_poison(store_url: str) -> None:
    """A trigger in the store's database that fails any transaction storing the text POISON."""
    if store_url.startswith("sqlite:///"):
        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        db.execute(
            f"CREATE TRIGGER poison BEFORE INSERT ON messages WHEN new.text = '{POISON}' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        )
        db.close()
        return
    pg = await asyncpg.connect(store_url)
    try:
        await pg.execute(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.text = '{POISON}' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison()"
        )
    finally:
        await pg.close()


async def test_appends_made_together_fail_together_and_leave_no_trace(store: MessageStore, store_url: str) -> None:
    await store.append("lobby", "alice", "uid-alice", "before")
    await refuse_poison(store_url)
    results = await asyncio.gather(
        store.append("lobby", "alice", "uid-alice", "a"),
        store.append("dev", "bob", "uid-bob", POISON),
        store.append("lobby", "carol", "uid-carol", "b"),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [StoreUnavailable] * 3
    assert [m.text for m in await store.latest("lobby", 10)] == ["before"]
    assert await store.latest("dev", 10) == []
    assert (await store.last_seq("lobby"), await store.last_seq("dev")) == (1, 0)
    # The seqs the failed batch had reserved were rolled back with it: the next ones follow on.
    assert (await store.append("lobby", "alice", "uid-alice", "after")).seq == 2
    assert (await store.append("dev", "bob", "uid-bob", "first")).seq == 1


async def test_a_failed_batch_does_not_fail_the_next(store: MessageStore, store_url: str) -> None:
    await refuse_poison(store_url)
    first = asyncio.gather(
        store.append("lobby", "bob", "uid-bob", POISON),
        store.append("lobby", "alice", "uid-alice", "lost with it"),
        return_exceptions=True,
    )
    assert [type(r) for r in await first] == [StoreUnavailable] * 2
    stored = await asyncio.gather(*(store.append("lobby", "alice", "uid-alice", f"{n}") for n in range(5)))
    assert [m.seq for m in stored] == [1, 2, 3, 4, 5]
    assert [m.text for m in await store.latest("lobby", 10)] == ["0", "1", "2", "3", "4"]


async def test_a_room_keeps_the_order_its_appends_were_made_in(store: MessageStore) -> None:
    rooms = ("lobby", "dev", "lobby", "lobby", "ops", "dev")
    made = [(rooms[n % len(rooms)], f"{n}") for n in range(120)]
    sent = await asyncio.gather(*(store.append(room, "alice", "uid-alice", text) for room, text in made))
    for room in set(rooms):
        in_call_order = [m for m in sent if m.room == room]
        assert [m.seq for m in in_call_order] == list(range(1, len(in_call_order) + 1))
        assert await store.after(room, 0, 1000) == in_call_order


async def test_two_stores_on_one_database_append_at_once_with_gapless_seqs(store: MessageStore, store_url: str) -> None:
    other = open_store(store_url)
    await other.open()
    try:

        async def wave(s: MessageStore, who: str, n: int) -> list[Message]:
            return await asyncio.gather(
                *(s.append("lobby" if k % 3 else "dev", who, f"uid-{who}", f"{who} {n}.{k}") for k in range(40))
            )

        waves = await asyncio.gather(*(wave(s, who, n) for n in range(5) for s, who in ((store, "a"), (other, "b"))))
        sent = [m for w in waves for m in w]
        for room in ("lobby", "dev"):
            stored = await store.after(room, 0, 10_000)
            assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
            assert sorted(stored, key=lambda m: m.seq) == sorted(
                (m for m in sent if m.room == room), key=lambda m: m.seq
            )
            for who in ("a", "b"):  # each store's appends to a room keep the order they were made in
                mine = [m.text for m in stored if m.author == who]
                assert mine == [m.text for m in sent if m.room == room and m.author == who]
        assert len(sent) == 400
    finally:
        await other.close()


async def test_a_nonce_sent_twice_in_one_batch_is_stored_once(store: MessageStore) -> None:
    sent = await asyncio.gather(
        store.append("lobby", "alice", "uid-alice", "hello", nonce="n1"),
        store.append("lobby", "bob", "uid-bob", "hi", nonce="n1"),  # another sender's token: another message
        store.append("lobby", "alice", "uid-alice", "hello", nonce="n1"),
        store.append("dev", "alice", "uid-alice", "elsewhere", nonce="n2"),
    )
    assert sent[2] == sent[0]
    assert [(m.seq, m.author) for m in sent] == [(1, "alice"), (2, "bob"), (1, "alice"), (1, "alice")]
    assert [m.text for m in await store.latest("lobby", 10)] == ["hello", "hi"]
    assert await store.last_seq("lobby") == 2


async def test_a_nonce_stored_before_gives_its_message_within_a_batch_of_new_ones(store: MessageStore) -> None:
    first = await store.append("lobby", "alice", "uid-alice", "hello", nonce="n1")
    sent = await asyncio.gather(
        store.append("lobby", "bob", "uid-bob", "one"),
        store.append("lobby", "alice", "uid-alice", "hello", nonce="n1"),
        store.append("lobby", "bob", "uid-bob", "two"),
    )
    assert sent[1] == first
    assert [m.seq for m in sent] == [2, 1, 3]
    assert [m.text for m in await store.latest("lobby", 10)] == ["hello", "one", "two"]


async def test_a_nonce_sent_to_two_stores_at_once_is_stored_once(store: MessageStore, store_url: str) -> None:
    other = open_store(store_url)
    await other.open()
    try:
        for n in range(10):  # a retry that reaches two processes while the first send is being stored
            sent = await asyncio.gather(
                store.append("lobby", "alice", "uid-alice", f"hello {n}", nonce=f"n{n}"),
                other.append("lobby", "alice", "uid-alice", f"hello {n}", nonce=f"n{n}"),
                other.append("lobby", "bob", "uid-bob", f"meanwhile {n}"),
            )
            assert sent[0] == sent[1]
        stored = await store.after("lobby", 0, 100)
        assert [m.seq for m in stored] == list(range(1, 21))
        assert sorted(m.text for m in stored) == sorted(
            [f"hello {n}" for n in range(10)] + [f"meanwhile {n}" for n in range(10)]
        )
    finally:
        await other.close()


async def test_files_in_a_batch_are_stored_with_their_messages_and_a_resent_one_is_not_stored_again(
    store: MessageStore,
) -> None:
    sent = await asyncio.gather(
        store.append("lobby", "alice", "uid-alice", "with a file", nonce="n1", files=[new_file("f1")]),
        store.append("dev", "bob", "uid-bob", "none"),
        store.append("lobby", "alice", "uid-alice", "with a file", nonce="n1", files=[new_file("f1")]),
        store.append(
            "lobby", "carol", "uid-carol", "two", files=[new_file("f2"), new_file("f3", "a.txt", b"t", False)]
        ),
    )
    assert [[f.id for f in m.files] for m in sent] == [["f1"], [], [], ["f2", "f3"]]
    assert (sent[2].seq, sent[2].text) == (sent[0].seq, sent[0].text)
    assert [[f.id for f in m.files] for m in await store.latest("lobby", 10)] == [["f1"], ["f2", "f3"]]
    assert await store.file("f3") == ("lobby", sent[3].files[1], b"t")
