"""The networked broadcast backends, through broadcaster, against servers of the tests' own that they stop at will."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import pytest
from broadcaster import Event

from chatroom.bus import RESYNC, Bus
from chatroom.bus.redis import RedisBackend
from chatroom.errors import BusUnavailable
from tests.integration.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.anyio

LOBBY, DEV = "room:lobby", "room:dev"


class Server(Protocol):
    url: str
    running: bool

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


@asynccontextmanager
async def subscribed(bus: Bus, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    """The channel's messages, collected into a queue by a task, as a room feed would read them."""
    received: asyncio.Queue[str] = asyncio.Queue()
    async with bus.broadcast.subscribe(channel) as subscriber:

        async def collect() -> None:
            async for event in subscriber:  # type: ignore[attr-defined]
                received.put_nowait(event.message)

        task = asyncio.create_task(collect())
        try:
            yield received
        finally:
            task.cancel()


async def take(received: asyncio.Queue[str], count: int = 1, timeout: float = 5.0) -> list[str]:
    return [await asyncio.wait_for(received.get(), timeout) for _ in range(count)]


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


async def test_delivers_each_channel_its_own_messages_in_order(bus: Bus) -> None:
    async with subscribed(bus, LOBBY) as lobby, subscribed(bus, DEV) as dev:
        for number in range(5):
            await bus.broadcast.publish(LOBBY, f"lobby {number}")
        await bus.broadcast.publish(DEV, "dev 0")
        assert await take(lobby, 5) == [f"lobby {n}" for n in range(5)]
        assert await take(dev) == ["dev 0"]
        assert lobby.empty()


async def test_a_subscription_is_live_when_subscribe_returns(server: Server) -> None:
    listener, talker = Bus(server.url), Bus(server.url)
    await listener.connect()
    await talker.connect()
    try:
        for number in range(10):
            async with subscribed(listener, f"room:r{number}") as received:
                await talker.broadcast.publish(f"room:r{number}", "first")
                assert await take(received) == ["first"]
    finally:
        await listener.disconnect()
        await talker.disconnect()


async def test_unsubscribed_channel_gets_nothing_more(bus: Bus) -> None:
    async with subscribed(bus, DEV) as dev:
        async with subscribed(bus, LOBBY):
            pass
        await bus.broadcast.publish(LOBBY, "to nobody")
        await bus.broadcast.publish(DEV, "marker")
        assert await take(dev) == ["marker"]


async def test_ping_answers_while_the_server_is_up(bus: Bus) -> None:
    await bus.ping()


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
        # The resync first, then the event that could not be published during the outage.
        assert await take(lobby, 2, timeout=10) == [RESYNC, "during the outage"]
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


async def test_messages_cross_between_two_processes_buses(server: Server) -> None:
    alice, bob = Bus(server.url), Bus(server.url)
    await alice.connect()
    await bob.connect()
    try:
        async with subscribed(alice, LOBBY) as at_alice, subscribed(bob, LOBBY) as at_bob:
            await alice.broadcast.publish(LOBBY, "from alice")
            await bob.broadcast.publish(LOBBY, "from bob")
            assert sorted(await take(at_alice, 2)) == sorted(await take(at_bob, 2)) == ["from alice", "from bob"]
    finally:
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("server", ["postgres"], indirect=True)
async def test_postgres_publishes_concurrently_without_colliding(bus: Bus) -> None:
    async with subscribed(bus, LOBBY) as lobby:
        await asyncio.gather(*(bus.broadcast.publish(LOBBY, f"m{n}") for n in range(50)))
        assert sorted(await take(lobby, 50)) == sorted(f"m{n}" for n in range(50))


@pytest.mark.parametrize("server", ["postgres"], indirect=True)
async def test_postgres_carries_an_event_just_under_the_notify_limit(bus: Bus) -> None:
    big = "x" * 7999
    async with subscribed(bus, LOBBY) as lobby:
        await bus.broadcast.publish(LOBBY, big)
        assert await take(lobby) == [big]


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


async def test_broadcaster_sees_our_events_as_events(bus: Bus) -> None:
    async with bus.broadcast.subscribe(LOBBY) as subscriber:
        await bus.broadcast.publish(LOBBY, "plain")
        assert await asyncio.wait_for(subscriber.get(), 5) == Event(LOBBY, "plain")
