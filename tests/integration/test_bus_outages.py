"""The networked bus backends through outages: Redis and PostgreSQL servers of the tests' own, stopped at will."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import pytest

from chatroom.bus import RESYNC, Bus
from chatroom.bus.redis import RedisBackend
from chatroom.errors import BusUnavailable
from tests.integration.servers import PostgresServer, RedisServer
from tests.subscriptions import subscribed, take

pytestmark = pytest.mark.anyio

LOBBY, DEV = "room:lobby", "room:dev"


class Server(Protocol):
    url: str

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture(params=["redis", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "redis":
        redis = RedisServer()
        redis.start()
        yield redis
        redis.remove()
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        yield postgres
        if not postgres.running:
            postgres.start()


@pytest.fixture
async def bus(server: Server) -> AsyncIterator[Bus]:
    bus = Bus(server.url)
    await bus.connect()
    yield bus
    await bus.disconnect()


async def wait_until_up(bus: Bus, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await bus.ping()
            return
        except BusUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def listener_alive(bus: Bus) -> bool:
    task: asyncio.Task[Any] = bus.broadcast._listener_task
    return not task.done()


async def test_short_outage_resubscribes_and_resyncs_every_channel(bus: Bus, server: Server) -> None:
    async with subscribed(bus, LOBBY) as lobby, subscribed(bus, DEV) as dev:
        server.stop()
        await asyncio.sleep(1.0)
        with pytest.raises(BusUnavailable):
            await bus.ping()
        server.start()
        assert await take(lobby, timeout=10) == [RESYNC]
        assert await take(dev, timeout=10) == [RESYNC]
        await wait_until_up(bus)
        await bus.broadcast.publish(LOBBY, "after")
        assert await take(lobby) == ["after"]
        assert listener_alive(bus)


async def test_long_outage_fails_publish_fast_and_recovers_with_one_log_line_each_way(
    bus: Bus, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatroom.bus")
    async with subscribed(bus, LOBBY) as lobby:
        server.stop()
        for _ in range(6):  # past the longest backoff, so several reconnects fail meanwhile
            started = time.monotonic()
            with pytest.raises(BusUnavailable):
                await bus.broadcast.publish(LOBBY, "during the outage")
            assert time.monotonic() - started < 2.5
            with pytest.raises(BusUnavailable):
                await bus.ping()
            await asyncio.sleep(1.0)
        assert listener_alive(bus)  # next_published waited instead of raising
        server.start()
        back = time.monotonic()
        # The resync first, then the event that could not be published during the outage; within 2 s of the
        # bus answering again, however long it was down.
        assert await take(lobby, 2, timeout=10) == [RESYNC, "during the outage"]
        assert time.monotonic() - back < 2.0
        await wait_until_up(bus)
        await bus.broadcast.publish(LOBBY, "after")
        assert await take(lobby) == ["after"]
    lines = [(r.levelname, r.getMessage().split(":")[1].split("(")[0].strip()) for r in caplog.records]
    assert lines == [("ERROR", "down"), ("WARNING", "recovered; resyncing 1 channel")]


async def test_a_server_that_stops_answering_is_given_up_and_reconnected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RedisBackend, "heartbeat", 0.3)
    server = RedisServer()
    server.start()
    bus = Bus(server.url)
    await bus.connect()
    try:
        async with subscribed(bus, LOBBY) as lobby:
            server.pause()  # the connection stays open, so only the missing PING answers tell
            await asyncio.sleep(2.0)
            with pytest.raises(BusUnavailable):
                await bus.ping()
            server.resume()
            assert await take(lobby, timeout=10) == [RESYNC]
            await wait_until_up(bus)
            await bus.broadcast.publish(LOBBY, "after")
            assert await take(lobby) == ["after"]
    finally:
        await bus.disconnect()
        server.remove()


async def test_a_channel_subscribed_during_an_outage_is_resynced_when_back(bus: Bus, server: Server) -> None:
    server.stop()
    await asyncio.sleep(0.3)
    async with subscribed(bus, LOBBY) as lobby:
        server.start()
        assert await take(lobby, timeout=10) == [RESYNC]
        await wait_until_up(bus)
        await bus.broadcast.publish(LOBBY, "after")
        assert await take(lobby) == ["after"]


async def test_starts_degraded_when_the_server_is_down_and_connects_later(server: Server) -> None:
    server.stop()
    bus = Bus(server.url)
    started = time.monotonic()
    await bus.connect()
    try:
        assert time.monotonic() - started < 5
        with pytest.raises(BusUnavailable):
            await bus.ping()
        async with subscribed(bus, LOBBY) as lobby:
            server.start()
            assert await take(lobby, timeout=10) == [RESYNC]
            await wait_until_up(bus)
            await bus.broadcast.publish(LOBBY, "hello")
            assert await take(lobby) == ["hello"]
    finally:
        await bus.disconnect()


async def test_rediss_with_a_self_signed_certificate() -> None:
    server = RedisServer(tls=True)
    server.start()
    bus = Bus(server.url)
    await bus.connect()
    try:
        await bus.ping()
        async with subscribed(bus, LOBBY) as lobby:
            await bus.broadcast.publish(LOBBY, "secure")
            assert await take(lobby) == ["secure"]
    finally:
        await bus.disconnect()
        server.remove()
