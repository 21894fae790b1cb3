"""Room feeds: every message delivered once, in seq order, whatever the bus loses, doubles or reorders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from chatroom.accounts.service import Accounts
from chatroom.bus import RESYNC, Bus, channel, encode_message
from chatroom.errors import StoreUnavailable
from chatroom.identity import Person
from chatroom.rooms import feeds
from chatroom.rooms.hub import Hub
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Signal
from chatroom.rooms.render import Fragments
from chatroom.settings import Settings
from chatroom.store import Member, Message, MessageStore
from chatroom.store.sqlite import SQLiteStore
from chatroom.web.templating import template_environment
from tests.clock import advance, run_turned, until_done

ANN = Person("u-ann", "ann")


def run(tmp_path: Path, scenario: Callable[[Hub, MessageStore, Bus], Awaitable[None]]) -> None:
    async def main() -> None:
        store = SQLiteStore(f"sqlite:///{tmp_path / 'feed.sqlite3'}")
        await store.open()
        bus = Bus("memory://")
        await bus.connect()
        settings = Settings(secret_key="k", history_limit=3)
        hub = Hub(store, bus, Fragments(template_environment()), settings, Accounts(store, bus, settings))
        try:
            await asyncio.wait_for(scenario(hub, store, bus), 3600)  # on the turned clock; pytest-timeout is real
        finally:
            await hub.close()
            await bus.disconnect()
            await store.close()

    run_turned(main())


async def seqs(outbox: Outbox, count: int) -> list[int]:
    got: list[int] = []
    while len(got) < count:
        got += [frame.seq for frame in await asyncio.wait_for(outbox.take(), 2)]
    return got


async def nothing_before_a_marker(outbox: Outbox) -> None:
    """Long after (on the loop's clock), a frame offered now is the first the outbox gives: nothing came meanwhile."""
    await advance(60)
    outbox.offer(Signal("marker"))
    assert [frame.html for frame in await asyncio.wait_for(outbox.take(), 2)] == ["marker"]


def test_a_gap_in_the_events_is_filled_from_the_store(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        outbox = Outbox(10)
        async with hub.connect("r", outbox):
            lost = [await store.append("r", "ann", "u", f"m{n}") for n in range(2)]  # never announced
            third = await store.append("r", "ann", "u", "m2")
            await bus.broadcast.publish(channel("r"), encode_message(third))
            assert await seqs(outbox, 3) == [lost[0].seq, lost[1].seq, third.seq] == [1, 2, 3]

    run(tmp_path, scenario)


def test_a_resync_event_makes_the_feed_read_what_it_missed(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        outbox = Outbox(10)
        async with hub.connect("r", outbox):
            await store.append("r", "ann", "u", "while the bus was down")
            await nothing_before_a_marker(outbox)
            await bus.broadcast.publish(channel("r"), RESYNC)
            assert await seqs(outbox, 1) == [1]

    run(tmp_path, scenario)


def test_doubled_and_late_events_are_delivered_once(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        outbox = Outbox(10)
        async with hub.connect("r", outbox):
            first = await hub.post("r", ANN, "one", "s")
            second = await hub.post("r", ANN, "two", "s")
            assert first and second
            for message in (first, second, first):
                await bus.broadcast.publish(channel("r"), encode_message(message))
            assert await seqs(outbox, 2) == [1, 2]
            await hub.post("r", ANN, "three", "s")
            assert await seqs(outbox, 1) == [3], "the late copy of the first never came"

    run(tmp_path, scenario)


def test_an_event_sent_by_reference_is_read_from_the_store(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        outbox = Outbox(10)
        async with hub.connect("r", outbox):
            big = await store.append("r", "ann", "u", "€" * 2000 + "\U0001f600" * 2000)
            await bus.broadcast.publish(channel("r"), encode_message(big))
            frames = await asyncio.wait_for(outbox.take(), 2)
            assert [f.seq for f in frames] == [1] and "\U0001f600" in frames[0].html

    run(tmp_path, scenario)


def test_a_viewer_gets_only_what_came_after_its_snapshot(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        await hub.post("r", ANN, "old", "s")
        outbox = Outbox(10)
        async with hub.connect("r", outbox) as start:
            assert 'id="msg-1"' in start.snapshot
            await hub.post("r", ANN, "new", "s")
            assert await seqs(outbox, 1) == [2]

    run(tmp_path, scenario)


def test_the_snapshot_keeps_the_latest_history_limit_messages(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        async with hub.connect("r", Outbox(10)):
            for n in range(5):
                await hub.post("r", ANN, f"m{n}", "s")
            snapshot = hub.feeds["r"].snapshot()
            assert [s in snapshot for s in ('id="msg-2"', 'id="msg-3"', 'id="msg-5"')] == [False, True, True]
            assert "before=3" in snapshot

    run(tmp_path, scenario)


def test_a_catch_up_waits_out_a_store_outage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        outbox = Outbox(10)
        async with hub.connect("r", outbox):
            await store.append("r", "ann", "u", "stored before the outage")
            real_after = store.after
            failures = iter([True, True])

            async def flaky_after(room: str, seq: int, limit: int) -> list[Message]:
                if next(failures, False):
                    raise StoreUnavailable("down for a moment")
                return await real_after(room, seq, limit)

            monkeypatch.setattr(store, "after", flaky_after)
            await bus.broadcast.publish(channel("r"), RESYNC)
            frames = await until_done(outbox.take())  # the clock runs on through its retries, backing off
            assert [frame.seq for frame in frames] == [1]

    run(tmp_path, scenario)


def test_a_feed_ends_after_its_last_viewer_and_unsubscribes(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        for _ in range(3):
            async with hub.connect("r", Outbox(10)), hub.connect("r", Outbox(10)):
                assert len(hub.feeds["r"].viewers) == 2
        await advance(feeds.FEED_LINGER_SECONDS - 0.01)
        assert "r" in hub.feeds, "it lingers a moment for a reload"
        await advance(0.01)
        assert hub.feeds == {} and bus.broadcast._subscribers == {}
        tasks = {t.get_name() for t in asyncio.all_tasks()}
        assert not any(name.startswith("feed:") for name in tasks)

    run(tmp_path, scenario)


def test_a_viewer_that_falls_behind_is_dropped(tmp_path: Path) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        slow, fast = Outbox(2), Outbox(10)
        async with hub.connect("r", slow), hub.connect("r", fast):
            for n in range(3):
                await hub.post("r", ANN, f"m{n}", f"s{n}")
            assert slow.overflowed and not fast.overflowed
            assert await seqs(fast, 3) == [1, 2, 3]
            assert len(hub.feeds["r"].viewers) == 2, "the transport closes it (1013) and leaves the room"

    run(tmp_path, scenario)


def test_a_message_arriving_while_a_viewer_joins_is_shown_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(hub: Hub, store: MessageStore, bus: Bus) -> None:
        await hub.post("r", ANN, "before", "s")
        real_members = hub.presence.members

        async def members_while_someone_posts(room: str, fresh: bool = False) -> list[Member]:
            await hub.post("r", ANN, "during the join", "s")  # delivered between registration and snapshot
            return await real_members(room, fresh)

        monkeypatch.setattr(hub.presence, "members", members_while_someone_posts)
        outbox = Outbox(10)
        async with hub.connect("r", outbox, Person("u-bob", "bob")) as start:
            assert 'id="msg-2"' in start.snapshot
            await hub.post("r", ANN, "after", "s")
            assert await seqs(outbox, 1) == [3], "message 2 is in the snapshot, so not sent again"

    run(tmp_path, scenario)
