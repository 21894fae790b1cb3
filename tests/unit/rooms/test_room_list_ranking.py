"""The room list after a flood of created rooms: the lobby, the rooms people write in, and your own room."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable

import pytest

from chatroom.rooms.directory import LISTED
from chatroom.settings import Settings
from chatroom.store import MessageStore, now_us, open_store
from tests.people import page, session
from tests.unit.conftest import MakeClient
from tests.wire import recv, room_list

pytestmark = pytest.mark.timeout(60)

FLOOD = LISTED + 20


def in_store(settings: Settings, work: Callable[[MessageStore], Awaitable[None]]) -> None:
    """Do `work` on the app's database from outside the app, as another process would."""

    async def run() -> None:
        store = open_store(settings.database_url)
        await store.open()
        try:
            await work(store)
        finally:
            await store.close()

    asyncio.run(run())


async def flood_after_two_written_rooms(store: MessageStore) -> None:
    await store.append("dev", "alice", "uid-alice", "standup at ten")
    await store.append("ops", "bob", "uid-bob", "deploy done")
    for number in range(FLOOD):
        await store.create_room(f"junk-{number:03}")


def listed(html: str) -> list[str]:
    return re.findall(r'<li data-room="([^"]+)"', room_list(html) or "")


def test_the_lobby_and_the_written_rooms_stay_listed_after_a_flood_of_empty_rooms(
    settings: Settings, make_client: MakeClient
) -> None:
    in_store(settings, flood_after_two_written_rooms)
    client = make_client()
    rooms = listed(page(client, "/rooms/lobby", session(client, "carol")))
    assert len(rooms) == LISTED
    assert {"lobby", "dev", "ops"} <= set(rooms)
    assert rooms == sorted(rooms)


def test_a_person_in_a_room_that_is_not_listed_sees_it_in_their_list(
    settings: Settings, make_client: MakeClient
) -> None:
    in_store(settings, flood_after_two_written_rooms)
    client = make_client()
    carol = session(client, "carol")
    assert "junk-000" not in listed(page(client, "/rooms/lobby", carol))
    html = page(client, "/rooms/junk-000", carol)
    assert 'href="/rooms/junk-000" aria-current="page"' in (room_list(html) or "")
    with client.websocket_connect("/rooms/junk-000/ws", headers=carol) as ws:
        first = recv(ws)  # the snapshot, with the room's people and the room list
    assert 'href="/rooms/junk-000" aria-current="page"' in (room_list(first) or "")


def test_an_empty_room_made_over_a_day_ago_is_gone_once_the_app_runs(
    settings: Settings, make_client: MakeClient
) -> None:
    async def stale_and_fresh(store: MessageStore) -> None:
        await store.create_room("stale")
        await store.create_room("fresh")
        await store.create_room("written")
        await store.append("written", "alice", "uid-alice", "kept")

    in_store(settings, stale_and_fresh)
    two_days_ago = now_us() - 2 * 24 * 3600 * 1_000_000
    with sqlite3.connect(settings.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE rooms SET created_at = ?, active_at = ? WHERE name <> 'fresh'", (two_days_ago, two_days_ago))
    client = make_client()
    bob = session(client, "bob")
    deadline = time.monotonic() + 5
    while "stale" in (rooms := listed(page(client, "/rooms/lobby", bob))):
        assert time.monotonic() < deadline, "the stale room was never expired"
        time.sleep(0.05)
    assert rooms == ["fresh", "lobby", "written"]


def test_the_page_style_has_unread_lines_only_for_listed_rooms(settings: Settings, make_client: MakeClient) -> None:
    client = make_client()
    bob = session(client, "bob")
    with client.websocket_connect("/rooms/lobby/ws", headers=bob) as ws:
        [uid] = re.findall(r'<li data-uid="([^"]+)"', recv(ws))  # bob, the one person here

    async def read_many(store: MessageStore) -> None:
        await store.mark_read([(uid, f"seen-{number:03}", 1) for number in range(FLOOD)], now_us())

    in_store(settings, read_many)
    style = page(client, "/rooms/lobby", bob).split("</style>")[0]
    assert "seen-" not in style
