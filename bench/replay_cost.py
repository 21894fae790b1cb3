"""What a long SSE replay and an older page cost the server: `.venv/bin/python -m bench.replay_cost`.

Stores 600 long messages in a temporary SQLite room, then asks the hub 10 times for a replay of the
last 500 (an SSE reconnect with an old Last-Event-ID), as it is answered and again without the cap
on a replay's bytes, and 10 times for the same "load older" page; prints the CPU seconds and the
characters sent for each.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatroom.accounts.service import Accounts
from chatroom.bus import Bus
from chatroom.rooms import starts
from chatroom.rooms.hub import Hub
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.render import Fragments
from chatroom.settings import Settings
from chatroom.store import open_store
from chatroom.web.templating import template_environment

MESSAGES = 600
REPLAYED = 500
REQUESTS = 10
# About 2,000 characters that escaping makes longer, with a few mentions: a costly but valid message.
TEXT = ('<b>"quoted" & @bob</b> ' * 87)[:2000]


async def measure(data: Path) -> None:
    settings = Settings(data_dir=data, secret_key="bench", database_url=f"sqlite:///{data / 'chat.sqlite3'}")
    store = open_store(settings.database_url)
    await store.open()
    bus = Bus("memory://")
    await bus.connect()
    hub = Hub(store, bus, Fragments(template_environment()), settings, Accounts(store, bus, settings))
    try:
        for n in range(MESSAGES):
            await store.append("bench", f"person-{n % 3}", f"uid-{n % 3}", TEXT)
        await replays(hub, "replay of 500")
        starts.REPLAY_BYTES = 2**40
        await replays(hub, "replay of 500, no byte cap")
        cpu, sent = time.process_time(), 0
        for _ in range(REQUESTS):
            sent += len(await hub.older_page("bench", MESSAGES - 100))
        report("older page", time.process_time() - cpu, sent)
    finally:
        await hub.close()
        await bus.disconnect()
        await store.close()


async def replays(hub: Hub, what: str) -> None:
    cpu, sent = time.process_time(), 0
    for _ in range(REQUESTS):
        async with hub.connect("bench", Outbox(hub.settings.outbox_size), resume=MESSAGES - REPLAYED) as start:
            sent += sum(len(m.html) for m in start.missed or []) + len(start.snapshot)
    report(what, time.process_time() - cpu, sent)


def report(what: str, cpu: float, sent: int) -> None:
    print(f"{what}, {REQUESTS} times: {cpu:.3f} s CPU, {sent / REQUESTS / 2**20:.2f} MiB each")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as data:
        asyncio.run(measure(Path(data)))
