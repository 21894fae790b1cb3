"""Reading a bus channel as a room feed does: a queue filled by a task, taken from with a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chatroom.bus import Bus


@asynccontextmanager
async def subscribed(bus: Bus, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    """The channel's messages, collected into a queue by a task, as a room feed would read them."""
    received: asyncio.Queue[str] = asyncio.Queue()
    async with bus.broadcast.subscribe(channel) as subscriber:

        async def collect() -> None:
            while True:
                received.put_nowait((await subscriber.get()).message)

        task = asyncio.create_task(collect())
        try:
            yield received
        finally:
            task.cancel()


async def take(received: asyncio.Queue[str], count: int = 1, timeout: float = 5.0) -> list[str]:
    return [await asyncio.wait_for(received.get(), timeout) for _ in range(count)]
