"""Every client ends with the same conversation: htmx pages and JSON clients that keep dropping and coming
back, to either of two processes, while one person posts and edits, deletes and reacts to their messages."""

from __future__ import annotations

import asyncio
import html
import json
import random
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import AppFactory
from tests.integration.servers import AppServer, RedisServer
from tests.integration.test_accounts import post
from tests.integration.viewer import ITEM, Viewer
from tests.people import PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

TOMBSTONE = "This message was deleted."


class JsonClient:
    """A bot that keeps the highest `seq` it was sent and resumes from it, rebuilding the room as it goes."""

    def __init__(self, ws_urls: list[str], room: str) -> None:
        self.ws_urls, self.room = ws_urls, room
        self.since = 0
        self.messages: dict[int, str] = {}
        self.connects = 0
        self.stop = asyncio.Event()
        self._socket: object = None

    async def run(self) -> None:
        while not self.stop.is_set():
            url = f"{self.ws_urls[self.connects % len(self.ws_urls)]}/ws/rooms/{self.room}/?since={self.since}"
            self.connects += 1
            try:
                async with connect(url) as ws:
                    self._socket = ws
                    async for raw in ws:
                        self.apply(json.loads(raw))
            except (ConnectionClosed, OSError):
                pass
            await asyncio.sleep(0.05)

    def apply(self, frame: dict[str, object]) -> None:
        kind = frame["type"]
        if kind == "reset":
            self.messages = {}
            return
        if kind == "connection_established":
            return
        id, seq = int(frame["id"]), int(frame["seq"])  # type: ignore[call-overload]
        if kind in ("chat", "edit"):
            self.messages[id] = str(frame["message"])
        elif kind == "delete":
            self.messages[id] = TOMBSTONE
        self.since = max(self.since, seq)

    async def drop(self) -> None:
        ws = self._socket
        if ws is not None:
            await ws.close()  # type: ignore[attr-defined]


def server_page(app: AppServer, room: str) -> list[tuple[int, str]]:
    with urllib.request.urlopen(f"{app.url}/rooms/{room}", timeout=10) as response:
        return [(int(seq), html.unescape(text)) for seq, _, text in ITEM.findall(response.read().decode())]


async def test_clients_that_keep_reconnecting_end_with_the_servers_conversation(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    apps = start_apps(2, DATABASE_URL=database_url, REDIS_URL=redis.url)
    ws_urls = [app.ws_url for app in apps]
    status, alice = post(apps[0], "/signup", {"name": "Alice", "password": PASSWORD})
    assert status == 303
    viewers = [await Viewer(ws_urls, room).open(server=n % 2) for n in range(3)]
    bots = [JsonClient(ws_urls, room) for _ in range(2)]
    running = [asyncio.create_task(bot.run()) for bot in bots]
    rng = random.Random(16)

    async def act(path: str, fields: dict[str, str]) -> None:
        app = apps[rng.randrange(2)]
        status, _ = await asyncio.to_thread(post, app, f"/rooms/{room}{path}", fields, alice)
        assert status in (303, 404), (path, status)  # 404: already deleted

    posted = 0
    for step in range(60):
        if step % 2 == 0:
            posted += 1
            await act("/messages", {"message": f"message {posted}"})
        else:
            target = rng.randrange(1, posted + 1)
            change = rng.choice(["edit", "delete", "react", "react"])
            if change == "edit":
                await act(f"/messages/{target}/edit", {"message": f"message {target}, edited at step {step}"})
            elif change == "delete":
                await act(f"/messages/{target}/delete", {})
            else:
                await act(f"/messages/{target}/reactions", {"emoji": rng.choice(["👍", "🎉"])})
        if step % 5 == 0:  # someone's connection drops; they come back to the other process
            connected = [v._ws for v in viewers if v._ws is not None]
            if connected:  # (all of them may be reconnecting at this moment)
                await rng.choice(connected).close()
            await rng.choice(bots).drop()

    expected = server_page(apps[0], room)
    ids = [id for id, _ in expected]
    assert ids == sorted(ids) and expected, "the page shows the room in order"
    for viewer in viewers:
        await viewer.until(lambda v=viewer: v.shown == expected, timeout=20)  # type: ignore[misc]
        assert viewer.connects > 1
    for bot in bots:
        for _ in range(200):
            if [(i, t) for i, t in sorted(bot.messages.items()) if i >= ids[0]] == expected:
                break
            await asyncio.sleep(0.1)
        assert [(i, t) for i, t in sorted(bot.messages.items()) if i >= ids[0]] == expected
        assert bot.connects > 1
        bot.stop.set()
        await bot.drop()
    for viewer in viewers:
        await viewer.close()
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
