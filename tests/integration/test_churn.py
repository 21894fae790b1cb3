"""10,000 connect/disconnect cycles leave no task, subscription or memory behind.

The server runs in this process (uvicorn in a thread, over the Redis bus) so its tasks, feeds and
bus subscriptions can be counted; the clients run in a process of their own.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
import uvicorn

from chatroom.app import create_app
from chatroom.bus import PROCESS_CHANNELS
from chatroom.rooms import feeds
from chatroom.settings import Settings
from tests.integration.servers import ROOT, RedisServer, free_port, wait_for_port

T = TypeVar("T")


@dataclass
class LiveServer:
    app: Any
    loop: asyncio.AbstractEventLoop
    port: int

    def call(self, work: Callable[[], Awaitable[T]]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_call(work), self.loop)
        return future.result(10)

    def census(self) -> dict[str, int]:
        """What a connection could leave behind, counted on the server's own loop."""

        async def count() -> dict[str, int]:
            gc.collect()
            room_hub = self.app.state.chat.hub
            broadcast = room_hub.bus.broadcast
            return {
                "tasks": len(asyncio.all_tasks()),
                "feeds": len(room_hub.feeds),
                "viewers": room_hub.viewer_count,
                # Rooms' channels: the accounts', reads' and memberships' are the process's own, held to its stop.
                "subscribed channels": sum(
                    len(queues) for name, queues in broadcast._subscribers.items() if name not in PROCESS_CHANNELS
                ),
                "bus channels": len([name for name in broadcast._backend._channels if name not in PROCESS_CHANNELS]),
            }

        return self.call(count)


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


class LoopProbe:
    """Passes everything to the app, remembering the loop it runs on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


@pytest.fixture
def live_server(tmp_path: Path, redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setattr(feeds, "FEED_LINGER_SECONDS", 0.2)  # so an idle room's feed is gone when we count
    settings = Settings(
        data_dir=tmp_path,
        secret_key="churn",
        database_url=f"sqlite:///{tmp_path / 'chat.sqlite3'}",
        broadcast_url=redis.url,
    )
    app = create_app(settings)
    probe = LoopProbe(app)
    port = free_port()
    config = uvicorn.Config(probe, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    wait_for_port(port)
    assert probe.loop is not None
    yield LiveServer(app, probe.loop, port)
    server.should_exit = True
    thread.join(15)


def churn(server: LiveServer, room: str, cycles: int) -> None:
    command = [sys.executable, "-m", "tests.integration.churn", f"ws://127.0.0.1:{server.port}", room, str(cycles)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def settled(server: LiveServer, done: Callable[[dict[str, int]], bool], timeout: float = 10.0) -> dict[str, int]:
    """The census once `done` says so (or the last one after `timeout`): closing sockets takes a moment."""
    deadline = time.monotonic() + timeout
    while not done(census := server.census()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return census


def test_ten_thousand_connections_leave_nothing_behind(live_server: LiveServer, room: str) -> None:
    me = psutil.Process()
    churn(live_server, room, 500)  # warm-up: caches, pools and allocator arenas reach their working size
    baseline = settled(live_server, lambda census: census["feeds"] == 0)
    assert baseline["viewers"] == baseline["subscribed channels"] == baseline["bus channels"] == 0
    rss_before = me.memory_info().rss

    started = time.monotonic()
    churn(live_server, room, 10_000)
    elapsed = time.monotonic() - started

    assert settled(live_server, lambda census: census == baseline) == baseline
    growth = me.memory_info().rss - rss_before
    assert growth < 10_000_000, f"memory grew by {growth / 1e6:.1f} MB over 10,000 connections"
    assert elapsed < 120
