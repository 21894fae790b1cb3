"""Redis broadcast with redis-py (any version from 5 on), surviving Redis restarts.

Replaces broadcaster's own Redis backend, which receives nothing with redis-py 8 and never
recovers from a dropped connection. Publishing uses a connection pool;
listening uses one pub/sub connection that is thrown away, not silently repaired, when it fails,
so every reconnect is seen and answered with a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from chatroom.bus.resilient import ResilientBackend

CONTROL = "chatroom:bus"  # always subscribed, so the connection is in pub/sub mode and answers PINGs as messages
CONFIRM_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0


class RedisBackend(ResilientBackend):
    name = "redis"
    errors = (RedisError, OSError)
    heartbeat = 5.0  # seconds of silence before a PING; three times that without an answer is a dead connection

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._publisher: Redis | None = None
        self._pubsub: PubSub | None = None
        self._lock = asyncio.Lock()  # orders subscribing against (re)connecting
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._resync_on_confirm: set[str] = set()

    async def connect(self) -> None:
        self._publisher = self._client(socket_timeout=CONNECT_TIMEOUT)
        await super().connect()

    async def _close(self) -> None:
        if self._publisher is not None:
            await self._publisher.aclose()
            self._publisher = None

    async def _send_batch(self, messages: list[tuple[str, str]]) -> None:
        assert self._publisher is not None, "connect() first"
        async with self._publisher.pipeline(transaction=False) as pipe:  # one write, then the answers, in order
            for channel, message in messages:
                pipe.publish(channel, message)
            await pipe.execute()

    async def _ping(self) -> None:
        assert self._publisher is not None, "connect() first"
        await self._publisher.ping()

    async def _session(self) -> None:
        client = self._client(socket_timeout=None)
        pubsub = client.pubsub()
        try:
            async with self._lock:
                # A channel's RESYNC waits for its confirmation, so the store is re-read only once
                # Redis is sure to forward every later message.
                self._resync_on_confirm = set(self._channels)
                await pubsub.subscribe(CONTROL, *self._channels)
                self._pubsub = pubsub
            await self._pump(pubsub)
        finally:
            async with self._lock:
                self._pubsub = None
                for future in self._confirmations.values():
                    if not future.done():
                        future.set_result(None)
                self._confirmations.clear()
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()

    async def _pump(self, pubsub: PubSub) -> None:
        clock = asyncio.get_running_loop().time
        heard = pinged = clock()
        while True:
            message: dict[str, Any] | None = await pubsub.get_message(timeout=min(1.0, self.heartbeat))
            now = clock()
            if message is None:
                if now - heard > 3 * self.heartbeat:
                    raise ConnectionError(f"no answer from Redis for {now - heard:.0f} s")
                if now - heard > self.heartbeat and now - pinged > self.heartbeat:
                    await pubsub.ping()
                    pinged = now
                continue
            heard = now
            if message["type"] == "message":
                self.deliver(message["channel"], message["data"])
            elif message["type"] == "subscribe":
                await self._confirmed(message["channel"])

    async def _confirmed(self, channel: str) -> None:
        future = self._confirmations.pop(channel, None)
        if future is not None and not future.done():
            future.set_result(None)
        if channel in self._resync_on_confirm:
            self._resync_on_confirm.discard(channel)
            self.resync(channel)
        if channel == CONTROL:
            await self.came_up()

    async def _listen(self, channel: str) -> None:
        async with self._lock:
            if self._pubsub is None:
                return  # the next session subscribes it and resyncs it
            future = asyncio.get_running_loop().create_future()
            self._confirmations[channel] = future
            await self._pubsub.subscribe(channel)
        # Subscribe, then snapshot: the caller reads the store only once messages are sure to come.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, CONFIRM_TIMEOUT)

    async def _unlisten(self, channel: str) -> None:
        async with self._lock:
            self._resync_on_confirm.discard(channel)
            if self._pubsub is not None:
                await self._pubsub.unsubscribe(channel)

    def _client(self, socket_timeout: float | None) -> Redis:
        # No retries inside redis-py: a retried pub/sub connection re-subscribes by itself, and the
        # messages published meanwhile would be lost without anyone resyncing.
        return Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
