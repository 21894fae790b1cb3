"""Many clients on a real server; some drop and reconnect while others send. Everyone ends with every
message exactly once, in store order — as htmx would show it (the snapshot replaces, messages append)."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import websockets

from tests.integration.servers import AppServer

SNAPSHOT = re.compile(r'^<ul id="messages"[^>]*hx-swap-oob="innerHTML">')
MESSAGE_ID = re.compile(r'<li id="msg-(\d+)"')
SENDERS, PER_SENDER, WATCHERS, FLAPPERS = 6, 15, 8, 6
TOTAL = SENDERS * PER_SENDER


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AppServer]:
    env = {"DATA_DIR": str(tmp_path), "HISTORY_LIMIT": str(TOTAL + 10), "RATE_LIMIT_PER_SECOND": "1000"}
    app = AppServer({**env, "RATE_LIMIT_BURST": "1000", "RATE_LIMIT_PER_ADDRESS": "1000"}, tmp_path)
    app.start()
    yield app
    app.stop()


class Screen:
    """What one browser's #messages shows."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.connects = 0

    def apply(self, frame: str) -> None:
        if SNAPSHOT.match(frame):
            self.connects += 1
            self.ids = [int(n) for n in MESSAGE_ID.findall(frame)]
        elif "beforeend:#messages" in frame:
            self.ids += [int(n) for n in MESSAGE_ID.findall(frame)]


async def watch(url: str, screen: Screen, stop: asyncio.Event, flap: bool, rng: random.Random) -> None:
    while not stop.is_set():
        async with websockets.connect(url) as ws:
            deadline = asyncio.get_running_loop().time() + (rng.uniform(0.05, 0.3) if flap else 3600)
            while not stop.is_set() and asyncio.get_running_loop().time() < deadline:
                try:
                    screen.apply(str(await asyncio.wait_for(ws.recv(), 0.05)))
                except TimeoutError:
                    continue
        if flap:
            await asyncio.sleep(rng.uniform(0, 0.1))  # away for a moment: messages go by meanwhile


async def send(url: str, who: int) -> None:
    async with websockets.connect(url) as ws:
        for n in range(PER_SENDER):
            await ws.send(orjson.dumps({"message": f"sender {who} message {n}", "name": f"s{who}"}).decode())
            await asyncio.sleep(0.01)
        # The seed protocol echoes every message of the room: wait for our own last one.
        async with asyncio.timeout(20):
            while f"sender {who} message {PER_SENDER - 1}" not in str(await ws.recv()):
                pass


def test_everyone_ends_with_every_message_once_in_order(server: AppServer) -> None:
    async def main() -> list[Screen]:
        rng = random.Random(7)
        stop = asyncio.Event()
        screens = [Screen() for _ in range(WATCHERS + FLAPPERS)]
        url = f"{server.ws_url}/rooms/busy/ws"
        watchers = [
            asyncio.create_task(watch(url, screen, stop, flap=i >= WATCHERS, rng=rng))
            for i, screen in enumerate(screens)
        ]
        await asyncio.sleep(0.3)
        await asyncio.gather(*(send(f"{server.ws_url}/ws/rooms/busy/", who) for who in range(SENDERS)))
        stop.set()
        await asyncio.gather(*watchers)
        # Each one comes back once more, as htmx does, and must then be complete.
        for screen in screens:
            async with websockets.connect(url) as ws:
                screen.apply(str(await asyncio.wait_for(ws.recv(), 5)))
        return screens

    screens = asyncio.run(main())
    for screen in screens:
        assert screen.ids == list(range(1, TOTAL + 1))
    assert all(screen.connects >= 2 for screen in screens[WATCHERS:]), "the flappers did reconnect"


def test_a_steady_watcher_sees_every_message_live_once_in_order(server: AppServer) -> None:
    async def main() -> Screen:
        screen = Screen()
        url = f"{server.ws_url}/rooms/steady/ws"
        async with websockets.connect(url) as ws:
            screen.apply(str(await ws.recv()))
            await asyncio.gather(*(send(f"{server.ws_url}/ws/rooms/steady/", who) for who in range(SENDERS)))
            async with asyncio.timeout(10):
                while len(screen.ids) < TOTAL:
                    screen.apply(str(await ws.recv()))
        return screen

    assert asyncio.run(main()).ids == list(range(1, TOTAL + 1))
