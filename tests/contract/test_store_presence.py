"""Presence leases and read markers in the store, against every implementation (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from chatroom.store import Member, MessageStore

pytestmark = pytest.mark.anyio

NOW = 1_000_000_000
LATER = NOW + 60_000_000


async def test_a_person_in_two_processes_is_one_member(store: MessageStore) -> None:
    await store.enter("p1", [("lobby", "u-alice", "alice"), ("lobby", "u-bob", "Bob")], LATER)
    await store.enter("p2", [("lobby", "u-alice", "alice"), ("dev", "u-alice", "alice")], LATER)
    assert await store.members("lobby", NOW) == [Member("u-alice", "alice"), Member("u-bob", "Bob")]
    assert await store.online_counts(NOW) == {"lobby": 2, "dev": 1}
    assert await store.present_rooms("u-alice", NOW) == ["dev", "lobby"]


async def test_leaving_one_process_keeps_the_other(store: MessageStore) -> None:
    await store.enter("p1", [("lobby", "u-alice", "alice")], LATER)
    await store.enter("p2", [("lobby", "u-alice", "alice")], LATER)
    await store.leave("p1", [("lobby", "u-alice")])
    assert await store.members("lobby", NOW) == [Member("u-alice", "alice")]
    await store.leave("p2", [("lobby", "u-alice")])
    assert await store.members("lobby", NOW) == []


async def test_a_lease_that_ran_out_is_not_a_member_and_expires(store: MessageStore) -> None:
    await store.enter("dead", [("lobby", "u-ghost", "ghost")], NOW + 10)
    await store.enter("alive", [("dev", "u-alice", "alice")], LATER)
    assert await store.members("lobby", NOW + 10) == []
    assert await store.online_counts(NOW + 10) == {"dev": 1}
    assert await store.expire(NOW + 10) == ["lobby"]
    assert await store.expire(NOW + 10) == []


async def test_renew_extends_only_that_process(store: MessageStore) -> None:
    await store.enter("p1", [("lobby", "u-alice", "alice"), ("dev", "u-alice", "alice")], NOW + 10)
    await store.enter("p2", [("lobby", "u-bob", "bob")], NOW + 10)
    assert await store.renew("p1", LATER) == 2
    assert await store.members("lobby", NOW + 20) == [Member("u-alice", "alice")]
    assert await store.renew("nobody", LATER) == 0


async def test_forget_drops_a_process_and_names_its_rooms(store: MessageStore) -> None:
    await store.enter("p1", [("lobby", "u-alice", "alice"), ("dev", "u-bob", "bob")], LATER)
    await store.enter("p2", [("lobby", "u-carol", "carol")], LATER)
    assert await store.forget("p1") == ["dev", "lobby"]
    assert await store.members("lobby", NOW) == [Member("u-carol", "carol")]


async def test_rename_reaches_every_lease(store: MessageStore) -> None:
    await store.enter("p1", [("lobby", "u-alice", "alice")], LATER)
    await store.enter("p2", [("dev", "u-alice", "alice")], LATER)
    assert await store.rename("u-alice", "Alice <b>") == ["dev", "lobby"]
    assert await store.members("dev", NOW) == [Member("u-alice", "Alice <b>")]


async def test_read_markers_only_move_forward(store: MessageStore) -> None:
    await store.mark_read([("u-alice", "lobby", 5), ("u-alice", "dev", 2)], NOW)
    await store.mark_read([("u-alice", "lobby", 3)], NOW)
    assert await store.read_markers("u-alice") == {"lobby": 5, "dev": 2}
    assert await store.read_markers("u-bob") == {}


async def test_empty_batches_are_fine(store: MessageStore) -> None:
    await store.enter("p1", [], LATER)
    await store.leave("p1", [])
    await store.mark_read([], NOW)
    assert await store.members("lobby", NOW) == []
