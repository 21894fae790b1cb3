"""The broadcast backends through broadcaster, each the same: memory, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from broadcaster import Event

from chatroom.bus import Bus
from tests.subscriptions import subscribed, take

pytestmark = pytest.mark.anyio


async def test_delivers_each_channel_its_own_messages_in_order(bus: Bus, channels: tuple[str, str]) -> None:
    lobby_channel, dev_channel = channels
    async with subscribed(bus, lobby_channel) as lobby, subscribed(bus, dev_channel) as dev:
        for number in range(5):
            await bus.broadcast.publish(lobby_channel, f"lobby {number}")
        await bus.broadcast.publish(dev_channel, "dev 0")
        await bus.broadcast.publish(lobby_channel, "marker")
        assert await take(lobby, 6) == [*(f"lobby {n}" for n in range(5)), "marker"]
        assert await take(dev) == ["dev 0"]


async def test_a_subscription_is_live_when_subscribe_returns(bus_url: str, channels: tuple[str, str]) -> None:
    listener = Bus(bus_url)
    # An in-memory bus reaches its own subscribers only; a networked one, those of any process.
    talker = listener if bus_url == "memory://" else Bus(bus_url)
    await listener.connect()
    if talker is not listener:
        await talker.connect()
    try:
        for number in range(10):
            async with subscribed(listener, f"{channels[0]}-{number}") as received:
                await talker.broadcast.publish(f"{channels[0]}-{number}", "first")
                assert await take(received) == ["first"]
    finally:
        await listener.disconnect()
        if talker is not listener:
            await talker.disconnect()


async def test_unsubscribed_channel_gets_nothing_more(bus: Bus, channels: tuple[str, str]) -> None:
    lobby_channel, dev_channel = channels
    async with subscribed(bus, dev_channel) as dev:
        async with subscribed(bus, lobby_channel):
            pass
        await bus.broadcast.publish(lobby_channel, "to nobody")
        await bus.broadcast.publish(dev_channel, "marker")
        assert await take(dev) == ["marker"]


async def test_ping_answers_while_the_server_is_up(bus: Bus) -> None:
    await bus.ping()


@pytest.mark.parametrize("bus_url", ["redis", "postgres"], indirect=True)  # memory:// is one process's
async def test_messages_cross_between_two_processes_buses(bus_url: str, channels: tuple[str, str]) -> None:
    lobby_channel = channels[0]
    alice, bob = Bus(bus_url), Bus(bus_url)
    await alice.connect()
    await bob.connect()
    try:
        async with subscribed(alice, lobby_channel) as at_alice, subscribed(bob, lobby_channel) as at_bob:
            await alice.broadcast.publish(lobby_channel, "from alice")
            await bob.broadcast.publish(lobby_channel, "from bob")
            assert sorted(await take(at_alice, 2)) == sorted(await take(at_bob, 2)) == ["from alice", "from bob"]
    finally:
        await alice.disconnect()
        await bob.disconnect()


async def test_concurrent_publishes_all_arrive(bus: Bus, channels: tuple[str, str]) -> None:
    async with subscribed(bus, channels[0]) as lobby:
        await asyncio.gather(*(bus.broadcast.publish(channels[0], f"m{n}") for n in range(50)))
        assert sorted(await take(lobby, 50)) == sorted(f"m{n}" for n in range(50))


@pytest.mark.parametrize("bus_url", ["redis", "postgres"], indirect=True)  # memory:// has no writes
async def test_concurrent_publishes_go_out_in_the_order_asked_in_shared_writes(
    bus: Bus, channels: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is asked for while a write is under way goes out together, next, in order: fewer round trips than
    publishes, and a room's events in the order they were announced."""
    backend = bus.backend
    writes = 0
    publish = type(backend)._publish

    async def counted(self: object, batch: list[object]) -> None:
        nonlocal writes
        writes += 1
        await publish(self, batch)

    monkeypatch.setattr(type(backend), "_publish", counted)
    async with subscribed(bus, channels[0]) as lobby:
        await asyncio.gather(*(bus.broadcast.publish(channels[0], f"m{n}") for n in range(50)))
        assert await take(lobby, 50) == [f"m{n}" for n in range(50)]
    assert 1 <= writes < 50


async def test_an_event_just_under_the_postgres_notify_limit_arrives(bus: Bus, channels: tuple[str, str]) -> None:
    big = "x" * 7999
    async with subscribed(bus, channels[0]) as lobby:
        await bus.broadcast.publish(channels[0], big)
        assert await take(lobby) == [big]


async def test_broadcaster_sees_our_events_as_events(bus: Bus, channels: tuple[str, str]) -> None:
    async with bus.broadcast.subscribe(channels[0]) as subscriber:
        await bus.broadcast.publish(channels[0], "plain")
        assert await asyncio.wait_for(subscriber.get(), 5) == Event(channels[0], "plain")
