"""Who's here: one entry per person, live for everyone, right after floods, renames and dead processes."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest
from starlette.testclient import TestClient

from chatroom.app import create_app
from chatroom.identity import Person
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Viewer
from chatroom.settings import Settings
from chatroom.store import Member, open_store
from tests.conftest import SNAPSHOT
from tests.people import members, none_of, page, session, wait_for
from tests.wire import recv

pytestmark = pytest.mark.timeout(60)


def now_us() -> int:
    return int(time.time() * 1_000_000)


def test_the_first_frame_lists_the_people_here_after_the_messages(client: TestClient) -> None:
    alice = session(client, "alice")
    with client.websocket_connect("/rooms/lobby/ws", headers=alice) as ws:
        snapshot = recv(ws)
    assert SNAPSHOT.match(snapshot), "the message list stays the first element"
    assert members(snapshot) == ["alice"]


def test_arrivals_and_departures_reach_everyone(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    bob = client.websocket_connect("/rooms/lobby/ws", headers=session(client, "bob")).__enter__()
    assert members(recv(bob)) == ["alice", "bob"]
    wait_for(alice, members, ["alice", "bob"])
    bob.__exit__(None, None, None)
    wait_for(alice, members, ["alice"])


def test_one_entry_per_person_however_many_tabs(client: TestClient, join) -> None:
    bob = join(client, headers=session(client, "bob"))
    alice = session(client, "alice")
    first = join(client, headers=alice)
    wait_for(bob, members, ["alice", "bob"])
    second = client.websocket_connect("/rooms/lobby/ws", headers=alice).__enter__()
    assert members(recv(second)) == ["alice", "bob"]
    second.__exit__(None, None, None)
    none_of(bob, members, wait=0.6)
    first.__exit__(None, None, None)
    wait_for(bob, members, ["bob"])


def test_a_new_name_reaches_the_list(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    bob = session(client, "bob")
    join(client, headers=bob)
    wait_for(alice, members, ["alice", "bob"])
    client.post("/profile", data={"name": "Robert"}, headers=bob)
    wait_for(alice, members, ["alice", "Robert"])


def test_names_are_escaped_in_the_list(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    join(client, headers=session(client, '<img src=x onerror=alert(1)>"&'))
    frame = wait_for(alice, members, ["&lt;img src=x onerror=alert(1)&gt;&#34;&amp;", "alice"])
    assert "<img" not in frame


def test_sockets_without_a_session_are_not_people(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    anonymous = join(client)
    none_of(alice, members, wait=0.6)
    none_of(anonymous, members, wait=0.1)


def test_the_page_lists_the_people_here(client: TestClient, join) -> None:
    join(client, headers=session(client, "alice"))
    bob = session(client, "bob")
    deadline = time.monotonic() + 5
    while members(page(client, "/rooms/lobby", bob)) != ["alice"]:
        assert time.monotonic() < deadline, "alice never showed on the page"
        time.sleep(0.05)


def test_a_flood_of_joins_and_leaves_leaves_the_list_right_and_nothing_behind(client: TestClient, join) -> None:
    hub = client.app.state.chat.hub  # type: ignore[attr-defined]
    alice = join(client, headers=session(client, "alice"))
    crowd = [session(client, f"p{n:03d}") for n in range(250)]
    for _ in range(4):  # 1,000 connections, 250 open at a time
        sockets = [client.websocket_connect("/rooms/lobby/ws", headers=who).__enter__() for who in crowd]
        for ws in sockets:
            ws.__exit__(None, None, None)
    wait_for(alice, members, ["alice"], timeout=10)
    deadline = time.monotonic() + 5
    while client.portal.call(hub.store.members, "lobby", now_us()) != [
        Member(hub.presence.viewers["lobby"][next(iter(hub.presence.viewers["lobby"]))].uid, "alice")
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    presence = hub.presence
    assert len(presence.viewers["lobby"]) == 1
    assert list(presence._connections.values()) == [1]
    assert len(presence._names) == 1 and len(presence._written) == 1
    assert set(presence.viewers) == {"lobby"}
    gc.collect()
    assert sum(isinstance(o, Viewer) for o in gc.get_objects()) == 1, "alice's is the only viewer left"
    assert len(hub.typing._typists) == 0


def test_a_dead_process_leaves_no_ghost(make_client, join) -> None:
    client = make_client(presence_lease=0.6)
    store = client.app.state.chat.hub.store
    alice = join(client, headers=session(client, "alice"))
    # What a process that died leaves behind: a lease nobody renews.
    client.portal.call(store.enter, "dead-process", [("lobby", "ghost-uid", "ghost")], now_us() + 400_000)
    join(client, headers=session(client, "bob"))  # someone arrives, so the list is re-read
    wait_for(alice, members, ["alice", "bob", "ghost"])
    wait_for(alice, members, ["alice", "bob"], timeout=3)


def test_leases_are_renewed_while_connected(make_client, join) -> None:
    client = make_client(presence_lease=0.6)
    store = client.app.state.chat.hub.store
    alice = join(client, headers=session(client, "alice"))
    time.sleep(1.5)
    assert [m.name for m in client.portal.call(store.members, "lobby", now_us())] == ["alice"]
    none_of(alice, members, wait=0.3)


def test_a_stopping_process_takes_its_people_with_it(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        hub = client.app.state.chat.hub  # type: ignore[attr-defined]
        # A person still connected when the process stops (sockets would be closed by the server first).
        client.portal.call(hub.presence.arrive, "lobby", Person("u-alice", "alice"), Outbox(10))
        deadline = time.monotonic() + 5
        while not client.portal.call(hub.store.members, "lobby", now_us()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process = hub.presence.process

    async def leases_left() -> int:
        store = open_store(settings.database_url)
        await store.open()
        try:
            return await store.renew(process, now_us())
        finally:
            await store.close()

    assert asyncio.run(leases_left()) == 0
