"""A reply crosses processes: stored by one, its quote read from the store by the other, as the message is now."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import websockets

from tests.integration.conftest import AppFactory
from tests.integration.servers import RedisServer

pytestmark = pytest.mark.anyio


async def test_a_reply_made_on_one_process_shows_its_quote_on_another(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    one, other = start_apps(2, DATABASE_URL=database_url, BROADCAST_URL=redis.url)
    async with (
        websockets.connect(f"{other.ws_url}/rooms/{room}/ws") as watcher,
        websockets.connect(f"{one.ws_url}/ws/rooms/{room}/") as bot,
    ):
        await asyncio.wait_for(watcher.recv(), 10)  # the snapshot
        assert json.loads(await asyncio.wait_for(bot.recv(), 10))["type"] == "connection_established"
        await bot.send(json.dumps({"message": "lunch at noon?", "name": "Ann"}))
        await bot.send(json.dumps({"message": "yes", "name": "Ann", "reply_to": 1}))
        frames = ""
        async with asyncio.timeout(10):
            while 'id="msg-2"' not in frames:
                frames += str(await watcher.recv())
    assert 'class="quote quote-of-1"' in frames and "lunch at noon?" in frames.split('id="msg-2"', 1)[1]
    page = await asyncio.to_thread(lambda: urllib.request.urlopen(f"{other.url}/rooms/{room}", timeout=5).read())
    assert b'<span class="quoted" dir="auto">lunch at noon?</span>' in page
