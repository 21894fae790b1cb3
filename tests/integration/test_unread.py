"""Unread counts across real processes on PostgreSQL and Redis: a room read on one clears its count on the other."""

from __future__ import annotations

import asyncio
import re
import urllib.request

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.conftest import AppFactory
from tests.integration.servers import AppServer, RedisServer
from tests.integration.test_accounts import post
from tests.people import PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


def open_page(app: AppServer, path: str, cookie: str) -> str:
    request = urllib.request.Request(app.url + path, headers={"cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def count(frame: str, room: str) -> int | None:
    """The room's unread count in a room list frame (0 when it shows none); None for a frame without a list."""
    if 'id="room-list"' not in frame:
        return None
    line = re.search(rf'<li data-room="{room}"[^>]*>.*?</li>', frame, re.S)
    found = re.search(r'class="count">(\d+)', line.group(0) if line else "")
    return int(found.group(1)) if found else 0


async def until_count(ws: ClientConnection, room: str, expected: int, timeout: float = 15.0) -> str:
    async with asyncio.timeout(timeout):
        while True:
            frame = str(await ws.recv())
            if count(frame, room) == expected:
                return frame


async def test_a_room_read_on_one_process_clears_its_count_shown_on_the_other(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    first, second = start_apps(2, DATABASE_URL=database_url, REDIS_URL=redis.url)
    _, alice = post(first, "/signup", {"name": "alice", "password": PASSWORD})
    _, bob = post(first, "/signup", {"name": "bob", "password": PASSWORD})
    assert post(first, "/rooms", {"name": room}, alice)[0] == 303
    await asyncio.to_thread(open_page, first, f"/rooms/{room}", alice)
    async with connect(f"{second.ws_url}/rooms/lobby/ws", additional_headers={"cookie": alice}) as on_second:
        await on_second.recv()  # the snapshot
        for text in ("one", "@alice two"):
            assert post(first, f"/rooms/{room}/messages", {"message": text}, bob)[0] == 303
        frame = await until_count(on_second, room, 2)
        assert '<title hx-swap-oob="true">(2) #lobby · chatroom</title>' in frame
        assert 'class="mentioned"' in frame
        async with connect(f"{first.ws_url}/rooms/{room}/ws", additional_headers={"cookie": alice}) as on_first:
            await on_first.recv()
            frame = await until_count(on_second, room, 0)
            assert '<title hx-swap-oob="true">#lobby · chatroom</title>' in frame
    # The store agrees: a page on either process shows nothing unread.
    for app in (first, second):
        shown = await asyncio.to_thread(open_page, app, "/rooms/lobby", alice)
        assert count(shown, room) == 0 and "<title>#lobby · chatroom</title>" in shown
