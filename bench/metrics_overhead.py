"""What the metrics cost a message, next to what storing it costs: a micro-benchmark, not a test.

    .venv/bin/python -m bench.metrics_overhead                      # values in this process's memory
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) .venv/bin/python -m bench.metrics_overhead   # values in files

It times the calls the hot path makes for one message, exactly as `chatroom.rooms.hub.Hub.post` and
`chatroom.rooms.feed.RoomFeed._deliver` make them (three clock reads, two histogram observations, a
counter, and the delivered counter by the room's viewers: one call whatever their number), best of
several repeats, and compares them with `SQLiteStore.append` (the durable write every message pays)
and with rendering a message once in its two formats (`RenderedMessage.item` and `.json`).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path

from chatroom import metrics
from chatroom.rooms.render import Fragments
from chatroom.rooms.render_cache import RenderCache
from chatroom.store import Message
from chatroom.store.sqlite import SQLiteStore
from chatroom.web.templating import template_environment

REPEATS = 7
CALLS = 20_000
APPENDS = 300


def instrumentation() -> None:
    """The metrics calls one message makes, in the order the hub and the feed make them."""
    arrived = time.perf_counter()
    appending = time.perf_counter()
    metrics.STORE_APPEND.observe(time.perf_counter() - appending)
    metrics.MESSAGES_STORED.inc()
    metrics.SEND_SECONDS.observe(time.perf_counter() - arrived)
    metrics.MESSAGES_DELIVERED.inc(25)


def per_call(work: object, number: int) -> float:
    """Seconds per call, the best of REPEATS runs (the least disturbed by the rest of the machine)."""
    return min(timeit.repeat(work, number=number, repeat=REPEATS)) / number  # type: ignore[arg-type]


async def append_seconds(directory: Path) -> float:
    store = SQLiteStore(f"sqlite:///{directory / 'bench.sqlite3'}")
    await store.open()
    try:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for number in range(APPENDS):
                await store.append("lobby", "ada", "uid-ada", f"message {number}")
            best = min(best, (time.perf_counter() - started) / APPENDS)
        return best
    finally:
        await store.close()


def render_seconds() -> float:
    renders = RenderCache(Fragments(template_environment()))
    sent_at = datetime.now(UTC)
    counter = iter(range(10**9))

    def render() -> None:
        seq = next(counter) + 1
        rendered = renders.rendered(Message("lobby", seq, "ada", "uid-ada", "hello @bob, how are you?", sent_at), None)
        assert rendered.item and rendered.json

    return per_call(render, 2_000)


def main() -> None:
    mode = f"files in {metrics.MULTIPROCESS_DIR}" if metrics.MULTIPROCESS_DIR else "this process's memory"
    overhead = per_call(instrumentation, CALLS)
    with tempfile.TemporaryDirectory() as directory:
        append = asyncio.run(append_seconds(Path(directory)))
    render = render_seconds()
    print(f"metrics values in {mode}; {os.cpu_count()} cores; best of {REPEATS}")
    print(f"metrics per message:   {overhead * 1e6:8.2f} µs")
    print(f"SQLite append:         {append * 1e6:8.2f} µs  (metrics are {overhead / append:.2%} of it)")
    print(f"render one message:    {render * 1e6:8.2f} µs  (metrics are {overhead / render:.2%} of it)")


if __name__ == "__main__":
    main()
