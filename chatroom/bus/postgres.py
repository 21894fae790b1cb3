"""PostgreSQL broadcast (LISTEN/NOTIFY), surviving database restarts.

broadcaster's own Postgres backend LISTENs and publishes on one connection, so concurrent
publishes fail with "another operation is in progress", and it never reconnects. Here one
dedicated connection LISTENs and a small pool publishes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from chatroom.bus.resilient import ResilientBackend

CONNECT_TIMEOUT = 2.0


NOTIFY_ALL = "SELECT pg_notify(channel, message) FROM unnest($1::text[], $2::text[]) AS sent (channel, message)"


class PostgresBackend(ResilientBackend):
    name = "postgres"
    errors = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
    heartbeat = 5.0  # seconds between checks that the LISTEN connection still answers

    def __init__(self, url: str, publishers: int = 3) -> None:
        super().__init__(url)
        self.publishers = publishers
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one operation at a time on the LISTEN connection

    async def connect(self) -> None:
        # min_size=0: no connection is needed to create the pool, so start-up works during an outage.
        self._pool = asyncpg.create_pool(self.url, min_size=0, max_size=self.publishers, timeout=CONNECT_TIMEOUT)
        await self._pool
        await super().connect()

    async def _close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            except self.errors:
                pool.terminate()

    async def _send_batch(self, messages: list[tuple[str, str]]) -> None:
        assert self._pool is not None, "connect() first"
        channels, texts = [c for c, _ in messages], [m for _, m in messages]
        async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as db:  # one statement: notified in this order
            await db.execute(NOTIFY_ALL, channels, texts, timeout=CONNECT_TIMEOUT)

    async def _ping(self) -> None:
        assert self._pool is not None, "connect() first"
        async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as db:
            await db.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT)

    async def _session(self) -> None:
        listener: asyncpg.Connection = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
        lost = asyncio.Event()
        listener.add_termination_listener(lambda _: lost.set())
        try:
            async with self._lock:
                channels = set(self._channels)
                for channel in channels:
                    await listener.add_listener(channel, self._notified)  # asyncpg quotes the name
                self._listener = listener
            # LISTEN has taken effect, so re-reading the store now misses nothing.
            for channel in channels:
                self.resync(channel)
            await self.came_up()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), self.heartbeat)
                except TimeoutError:
                    async with self._lock:
                        await listener.fetchval("SELECT 1", timeout=self.heartbeat)
            raise ConnectionError("the LISTEN connection was closed")
        finally:
            async with self._lock:
                self._listener = None
            listener.terminate()

    def _notified(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self.deliver(channel, payload)

    async def _listen(self, channel: str) -> None:
        async with self._lock:
            if self._listener is not None:
                await self._listener.add_listener(channel, self._notified)

    async def _unlisten(self, channel: str) -> None:
        async with self._lock:
            if self._listener is not None:
                await self._listener.remove_listener(channel, self._notified)
