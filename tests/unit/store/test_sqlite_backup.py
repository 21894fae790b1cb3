"""A backup of the SQLite store taken while five writers post is consistent: each room gapless, each message as sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatroom.store import Message, open_store

pytestmark = pytest.mark.anyio

WRITERS = 5


async def test_a_backup_while_five_writers_post_is_consistent(tmp_path: Path) -> None:
    server = open_store(f"sqlite:///{tmp_path / 'chat.sqlite3'}")  # the running server's connection
    console = open_store(f"sqlite:///{tmp_path / 'chat.sqlite3'}")  # the backup command's own
    await server.open()
    await console.open(migrate=False)
    stop = asyncio.Event()
    counts = [0] * WRITERS

    async def write(number: int) -> None:
        while not stop.is_set():
            await server.append(f"room-{number % 3}", f"writer{number}", f"uid-{number}", f"post {counts[number]}")
            counts[number] += 1

    writers = [asyncio.create_task(write(n)) for n in range(WRITERS)]
    while sum(counts) < 100:
        await asyncio.sleep(0.005)
    await console.backup(str(tmp_path / "backup.sqlite3"))
    during = sum(counts)
    while sum(counts) < during + 50:
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.gather(*writers)

    restored = open_store(f"sqlite:///{tmp_path / 'backup.sqlite3'}")
    await restored.open()
    try:
        copied: list[Message] = []
        for number in range(3):
            room = f"room-{number}"
            messages = await restored.after(room, 0, 100_000)
            assert [m.seq for m in messages] == list(range(1, len(messages) + 1)), "gapless"
            assert await restored.last_seq(room) == len(messages), "the counter matches the rows"
            assert messages == (await server.after(room, 0, 100_000))[: len(messages)], "each as sent"
            copied += messages
        assert 100 <= len(copied) < sum(counts), "taken while the writers posted"
    finally:
        await restored.close()
        await console.close()
        await server.close()
