"""The store under processes: writers in several processes at once, and a PostgreSQL that stops and comes back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import MessageStore, open_store
from tests.integration.servers import ROOT, PostgresServer

pytestmark = pytest.mark.anyio


async def fill(store: MessageStore, room: str, count: int) -> None:
    for number in range(1, count + 1):
        await store.append(room, "alice", "uid-alice", f"{room} {number}")


WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from chatroom.store import open_store

    async def main(url, writer, count, start_at):
        store = open_store(url)
        await store.open()
        time.sleep(max(0.0, start_at - time.time()))
        for number in range(count):
            await store.append("lobby", f"writer-{writer}", f"uid-{writer}", f"{writer}:{number}")
        await store.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
    """
)


async def test_concurrent_writers_in_several_processes_get_a_gapless_seq(store: MessageStore, store_url: str) -> None:
    writers, each = 4, 40
    start_at = time.time() + 1.5  # every writer is connected by then, so their appends really overlap
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, store_url, str(w), str(each), str(start_at)], env=env)
        for w in range(writers)
    ]
    seen_while_writing: list[list[int]] = []
    while any(p.poll() is None for p in processes):
        seen_while_writing.append([m.seq for m in await store.after("lobby", 0, 10_000)])
        await asyncio.sleep(0.01)
    assert [p.returncode for p in processes] == [0] * writers

    messages = await store.after("lobby", 0, 10_000)
    assert [m.seq for m in messages] == list(range(1, writers * each + 1))
    assert sorted(m.text for m in messages) == sorted(f"{w}:{n}" for w in range(writers) for n in range(each))
    for w in range(writers):  # each writer's own messages stay in the order it sent them
        assert [m.text for m in messages if m.author == f"writer-{w}"] == [f"{w}:{n}" for n in range(each)]
    # A reader never sees seq N+1 before N is committed.
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in seen_while_writing)
    assert await store.last_seq("lobby") == writers * each


async def test_postgres_store_fails_fast_while_down_and_recovers_by_itself(own_postgres: PostgresServer) -> None:
    store = open_store(own_postgres.url)
    await store.open()
    try:
        await fill(store, "lobby", 3)
        own_postgres.stop()
        for call in (store.ping(), store.append("lobby", "alice", "uid-alice", "lost"), store.latest("lobby", 5)):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await call
            assert time.monotonic() - started < 6

        own_postgres.start()
        await store.ping()
        # Every pooled connection works again, not only the first one handed out.
        results = await asyncio.gather(*(store.append("lobby", "bob", "uid-bob", f"back {n}") for n in range(12)))
        assert sorted(m.seq for m in results) == list(range(4, 16))
        assert [m.seq for m in await store.latest("lobby", 50)] == list(range(1, 16))
    finally:
        await store.close()
