"""Several real processes behind one room: every client sees every message, in the same order."""

from __future__ import annotations

import asyncio
import html
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import AppFactory, stored
from tests.integration.servers import AppServer, RedisServer
from tests.integration.viewer import ITEM, Viewer, in_order_without_gaps

pytestmark = pytest.mark.anyio


def page_history(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return [html.unescape(text) for _, _, text in ITEM.findall(response.read().decode())]


@pytest.mark.parametrize("bus", ["redis", "postgres"])
async def test_clients_spread_over_three_processes_see_every_message_in_the_same_order(
    redis: RedisServer, database_url: str, room: str, bus: str, start_apps: AppFactory
) -> None:
    apps = start_apps(3, DATABASE_URL=database_url, BROADCAST_URL=redis.url if bus == "redis" else database_url)
    urls = [app.ws_url for app in apps]
    viewers = [await Viewer(urls, room).open(server=n % 3) for n in range(6)]

    async def chat(viewer: Viewer, number: int) -> None:
        for line in range(5):
            await viewer.send(f"viewer {number} line {line}")

    await asyncio.gather(*(chat(viewer, n) for n, viewer in enumerate(viewers)))
    history = [m.text for m in await stored(database_url, room)]
    assert len(history) == 30
    for viewer in viewers:
        await viewer.shows(history)
        assert viewer.seqs() == list(range(1, 31))
        assert viewer.connects == 1

    # The same history for someone arriving now, whichever process serves them.
    newcomers = [await Viewer(urls, room).open(server=n) for n in range(3)]
    for newcomer in newcomers:
        await newcomer.shows(history)
        assert in_order_without_gaps(newcomer)
    for viewer in viewers + newcomers:
        await viewer.close()
    for app in apps:
        assert await asyncio.to_thread(page_history, f"{app.url}/rooms/{room}") == history


@pytest.mark.parametrize(("args", "env"), [(("--workers", "2"), {}), ((), {"WEB_CONCURRENCY": "2"})])
def test_several_workers_on_the_memory_bus_are_warned_about_at_start(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    app = AppServer({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "workers", **env}, tmp_path, args)
    app.start()
    try:
        assert "rooms are split" in app.log()
        assert "REDIS_URL" in app.log()
    finally:
        app.stop()
