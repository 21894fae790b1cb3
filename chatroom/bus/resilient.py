"""What the networked broadcast backends share: they outlive their server's outages.

broadcaster's listener task dies silently if `next_published` raises, and its subscribers then
hang forever. So a backend here never raises from `next_published`: a
supervisor task reconnects with backoff, listens to every subscribed channel again, and then
queues a RESYNC event for each, which makes every room feed re-read the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import ClassVar

from broadcaster import Event

from chatroom import metrics
from chatroom.bus import RESYNC
from chatroom.errors import BusUnavailable

log = logging.getLogger(__name__)

FIRST_RETRY = 0.1  # seconds; doubled after each failed attempt
# So a recovered server is noticed within about this long (at most 1.2 s with the jitter): a process with no
# sender of its own delivers again within 2 s of the bus answering. One connection attempt a second while
# the bus is down costs it nothing.
LAST_RETRY = 1.0
CONNECT_WAIT = 3.0  # how long connect() waits for the first connection before starting degraded
PUBLISH_TIMEOUT = 2.0  # a send during an outage fails within this, and the sender is not held up


class ResilientBackend:
    name: ClassVar[str]
    errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(self, url: str) -> None:
        self.url = url
        self._channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._up = asyncio.Event()
        self._down_since_logged = False
        self._failure = "not connected yet"
        self._unsent: dict[str, str] = {}  # the latest event per channel whose publish failed
        self._supervisor: asyncio.Task[None] | None = None
        self._outgoing: list[tuple[str, str, asyncio.Future[None]]] = []  # publishes waiting for the next write
        self._writing: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.name} bus")
        with contextlib.suppress(TimeoutError):  # start degraded; /healthz says so, and the supervisor keeps trying
            await asyncio.wait_for(self._up.wait(), CONNECT_WAIT)

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        self._up.clear()
        await self._close()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        with contextlib.suppress(*self.errors):  # the supervisor notices the broken connection and resyncs it
            await self._listen(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        with contextlib.suppress(*self.errors):  # a connection that broke has no subscription left to cancel
            await self._unlisten(channel)

    async def publish(self, channel: str, message: str) -> None:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):  # not wait_for: no task made per message
                await self._send_twice(channel, message)
        except self.errors as exc:
            # Kept to be sent again after the outage: a process whose own connection is fine would
            # otherwise never hear of this message until the room's next one.
            self._unsent[channel] = message
            raise BusUnavailable(f"{self.name}: {exc!r}") from exc
        await self._send_unsent()

    async def next_published(self) -> Event:
        return await self._events.get()

    async def ping(self) -> None:
        if not self._up.is_set():
            raise BusUnavailable(f"{self.name}: {self._failure}")
        try:
            await asyncio.wait_for(self._ping(), PUBLISH_TIMEOUT)
        except self.errors as exc:
            raise BusUnavailable(f"{self.name}: {exc!r}") from exc

    def resync(self, channel: str) -> None:
        metrics.BUS_RESYNCS.inc()
        self._events.put_nowait(Event(channel, RESYNC))

    def deliver(self, channel: str, message: str) -> None:
        self._events.put_nowait(Event(channel, message))

    async def came_up(self) -> None:
        """Called by `_session` once it listens to every channel again."""
        self._up.set()
        metrics.BUS_UP.set(1)
        if self._down_since_logged:
            log.warning("bus %s: recovered; resyncing %d channel(s)", self.name, len(self._channels))
            self._down_since_logged = False
        await self._send_unsent()

    async def _supervise(self) -> None:
        delay = FIRST_RETRY
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failure = repr(exc)
            if self._up.is_set():
                delay = FIRST_RETRY
            self._up.clear()
            metrics.BUS_UP.set(0)
            if not self._down_since_logged:
                metrics.BUS_OUTAGES.inc()
                log.error("bus %s: down (%s); events between processes are paused", self.name, self._failure)
                self._down_since_logged = True
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, LAST_RETRY)

    async def _send_twice(self, channel: str, message: str) -> None:
        try:
            await self._send(channel, message)
        except self.errors:
            await self._send(channel, message)  # a pooled connection may be left over from before an outage

    async def _send_unsent(self) -> None:
        for channel, message in list(self._unsent.items()):
            try:
                await asyncio.wait_for(self._send(channel, message), PUBLISH_TIMEOUT)
            except self.errors:
                return
            if self._unsent.get(channel) == message:
                del self._unsent[channel]

    async def _session(self) -> None:
        """Connect, listen to every channel in `_channels`, call `came_up`, deliver until the connection fails,
        and close that connection on the way out."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Release what publishing and pinging hold; called once, from disconnect()."""
        raise NotImplementedError

    async def _listen(self, channel: str) -> None:
        raise NotImplementedError

    async def _unlisten(self, channel: str) -> None:
        raise NotImplementedError

    async def _send(self, channel: str, message: str) -> None:
        """Published with the others asked for while a write is under way: one write for all of them, next, in the
        order asked (`_send_batch`), not a round trip each."""
        sent = asyncio.get_running_loop().create_future()
        self._outgoing.append((channel, message, sent))
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_outgoing())
        await sent

    async def _write_outgoing(self) -> None:
        try:
            while self._outgoing:
                batch, self._outgoing = self._outgoing, []
                await self._publish(batch)
        finally:
            self._writing = None

    async def _publish(self, batch: list[tuple[str, str, asyncio.Future[None]]]) -> None:
        """One write of the batch; each asker is told how it went."""
        failure: Exception | None = None
        try:
            await self._send_batch([(channel, message) for channel, message, _ in batch])
        except Exception as exc:
            failure = exc
        except BaseException:
            failure = ConnectionError("publishing was cancelled")
            raise
        finally:
            for _, _, sent in batch:
                if not sent.done():
                    if failure is None:
                        sent.set_result(None)
                    else:
                        sent.set_exception(failure)

    async def _send_batch(self, messages: list[tuple[str, str]]) -> None:
        """Publish each (channel, message), in this order, in one write."""
        raise NotImplementedError

    async def _ping(self) -> None:
        raise NotImplementedError
